"""Sharing an embedded (chdb) store with other processes on the same machine.

chdb lets one process open a data path. The long-running process that owns it (a worker,
the API, the demo) calls ``Store.share()``: a ``StoreHost`` then listens on 127.0.0.1 and
writes the address and a fresh random key to ``HANDLE_NAME`` inside the data path, readable
by its owner only. Another process that finds the path locked reads that file and sends its
statements there (``RemoteEngine``); the host runs them on its own engine, one at a time
under the store's lock, so every command works while the service runs.

The key grants what the data path's file permissions already grant (whoever can read the
handle can read the chdb files), so the handle lives beside the data, not somewhere wider.

A client whose host goes away gets ``HostGone``; the store then takes the path over or
finds the process that did (``ChdbStore``). Whoever holds chdb's lock on the path is the
holder; a handle left by a process that died is recognised because its port refuses (or
fails the handshake) while the lock is free. Process ids are not compared: processes that
share a data path and 127.0.0.1 (two containers of one pod) may not share a pid namespace.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import struct
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing import AuthenticationError
from multiprocessing.connection import Connection, Listener, answer_challenge, deliver_challenge
from pathlib import Path
from typing import Any, Protocol

import orjson

from storage.exceptions import StoreError, StoreLocked, StoreNotInitialised, StoreUnavailable

log = logging.getLogger(__name__)

HANDLE_NAME = "finsent-host.json"
HANDSHAKE_TIMEOUT_S = 5.0
"""How long either side of a connection waits for the other's half of the key handshake."""
_HANDSHAKE_ERRORS = (OSError, EOFError, ValueError, AuthenticationError)
_ERRORS: dict[str, type[StoreError]] = {
    "not_initialised": StoreNotInitialised,
    "error": StoreError,
}


class HostGone(StoreUnavailable):
    """The connection to the holding process broke, or was closed after an earlier break.

    ``may_have_run``: whether the statement reached the host before the break (then it may or
    may not have run; a read can be repeated, a write is left to the caller's retry).
    """

    def __init__(self, message: str, may_have_run: bool) -> None:
        super().__init__(message)
        self.may_have_run = may_have_run


class Engine(Protocol):
    """What a ChdbStore runs its statements on: its own chdb session, or a host's."""

    def query(self, sql: str, fmt: str) -> bytes: ...

    def insert(
        self, table: str, columns: Sequence[str], data: list[list[Any]], settings: Mapping[str, Any] | None
    ) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class HostHandle:
    """What ``HANDLE_NAME`` holds: where the host listens, its key, and the database it serves."""

    port: int
    authkey: bytes
    database: str
    pid: int

    def to_json(self) -> bytes:
        return orjson.dumps(
            {"port": self.port, "authkey": self.authkey.hex(), "database": self.database, "pid": self.pid}
        )

    @classmethod
    def read(cls, data_path: Path) -> HostHandle | None:
        """The handle in ``data_path``, or None if there is none (or it is unreadable or malformed)."""
        try:
            raw = orjson.loads((data_path / HANDLE_NAME).read_bytes())
            return cls(int(raw["port"]), bytes.fromhex(raw["authkey"]), str(raw["database"]), int(raw["pid"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None


class StoreHost:
    """Serves one store's engine to other local processes until ``close()``.

    ``run`` executes one request on the owner's engine (the owning store passes a function
    that holds its lock); each client connection gets a daemon thread, and authentication
    happens in that thread so a silent client cannot stall the others.
    """

    def __init__(
        self,
        data_path: Path,
        database: str,
        run: Callable[[dict[str, Any]], bytes],
        handshake_timeout_s: float = HANDSHAKE_TIMEOUT_S,
    ) -> None:
        self._data_path = data_path
        self._run = run
        self._handshake_timeout_s = handshake_timeout_s
        self._authkey = secrets.token_bytes(32)
        self._listener = Listener(("127.0.0.1", 0))
        port = self._listener.address[1]
        self._handle = HostHandle(port, self._authkey, database, os.getpid())
        self._closed = threading.Event()
        self._write_handle()
        self._thread = threading.Thread(target=self._accept_loop, name="finsent-store-host", daemon=True)
        self._thread.start()
        log.info("sharing the embedded store %s with local processes on 127.0.0.1:%d", data_path, port)

    @property
    def port(self) -> int:
        return self._handle.port

    def close(self) -> None:
        """Stop accepting, remove the handle (if it is still ours); open connections end with the process."""
        if self._closed.is_set():
            return
        self._closed.set()
        if HostHandle.read(self._data_path) == self._handle:
            with contextlib.suppress(OSError):
                (self._data_path / HANDLE_NAME).unlink()
        # Listener.close does not wake a thread blocked in accept(): connect once to do so.
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
            pass
        self._listener.close()
        self._thread.join(timeout=5)

    def _write_handle(self) -> None:
        target = self._data_path / HANDLE_NAME
        partial = target.with_name(f".{HANDLE_NAME}.{os.getpid()}")
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(self._handle.to_json())
        os.replace(partial, target)

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                connection = self._listener.accept()
            except OSError:
                return
            if self._closed.is_set():
                connection.close()
                return
            threading.Thread(target=self._serve, args=(connection,), name="finsent-store-client", daemon=True).start()

    def _serve(self, connection: Connection) -> None:
        with connection:
            try:
                with _receive_timeout(connection, self._handshake_timeout_s):
                    deliver_challenge(connection, self._authkey)
                    answer_challenge(connection, self._authkey)
            except _HANDSHAKE_ERRORS as exc:
                # Anyone on this machine can connect: a wrong key or garbage is one line, never a traceback.
                log.warning(
                    "refused a connection to the store on 127.0.0.1:%d: it did not present the key (%s)",
                    self.port,
                    type(exc).__name__,
                )
                return
            while not self._closed.is_set():
                try:
                    request = orjson.loads(connection.recv_bytes())
                except (OSError, EOFError, orjson.JSONDecodeError):
                    return
                try:
                    payload = self._run(request)
                    connection.send_bytes(b'{"ok":true}')
                    connection.send_bytes(payload)
                except StoreError as exc:
                    if self._closed.is_set():
                        return  # the store closed under this request: hang up, so the client looks for a new holder
                    kind = "not_initialised" if isinstance(exc, StoreNotInitialised) else "error"
                    connection.send_bytes(orjson.dumps({"ok": False, "kind": kind, "message": str(exc)}))
                except (KeyError, TypeError, ValueError) as exc:
                    connection.send_bytes(
                        orjson.dumps({"ok": False, "kind": "error", "message": f"bad request: {type(exc).__name__}"})
                    )


def query_request(sql: str, fmt: str) -> dict[str, Any]:
    return {"op": "query", "sql": sql, "format": fmt}


def insert_request(
    table: str, columns: Sequence[str], data: list[list[Any]], settings: Mapping[str, Any] | None
) -> dict[str, Any]:
    return {"op": "insert", "table": table, "columns": list(columns), "data": data, "settings": dict(settings or {})}


def run_request(engine: Engine, request: dict[str, Any]) -> bytes:
    """Run one decoded request on ``engine``: a query's output, or nothing for an insert."""
    if request["op"] == "query":
        return engine.query(str(request["sql"]), str(request["format"]))
    if request["op"] == "insert":
        engine.insert(str(request["table"]), request["columns"], request["data"], request["settings"] or None)
        return b""
    raise ValueError(f"unknown operation {request['op']!r}")


class RemoteEngine:
    """An ``Engine`` whose statements run in the process that hosts the data path.

    A statement whose connection breaks raises ``HostGone``, and so does every later one: the
    owning store then replaces this engine (``ChdbStore`` takes the path over or follows the
    process that did).
    """

    def __init__(self, data_path: Path, handle: HostHandle) -> None:
        self._data_path = data_path
        self._handle = handle
        self._connection: Connection | None = None
        try:
            self._connection = _connect(handle)
        except (OSError, EOFError) as exc:
            raise StoreLocked(
                f"the store at {data_path} is in use by another process that does not answer "
                f"({type(exc).__name__}): wait for it to exit, or stop it"
            ) from exc
        except (ValueError, AuthenticationError) as exc:
            raise StoreLocked(f"the store at {data_path} is in use by another process (its handle is stale)") from exc

    def query(self, sql: str, fmt: str) -> bytes:
        return self._call(query_request(sql, fmt))

    def insert(
        self, table: str, columns: Sequence[str], data: list[list[Any]], settings: Mapping[str, Any] | None
    ) -> None:
        self._call(insert_request(table, columns, data, settings))

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _call(self, request: dict[str, Any]) -> bytes:
        connection = self._connection
        if connection is None:
            raise HostGone(f"lost the connection to {self._where} earlier", may_have_run=False)
        try:
            connection.send_bytes(orjson.dumps(request))
        except OSError as exc:
            self.close()
            raise HostGone(f"lost the connection to {self._where}: {type(exc).__name__}", may_have_run=False) from exc
        try:
            status = orjson.loads(connection.recv_bytes())
            if status.get("ok"):
                return connection.recv_bytes()
        except (OSError, EOFError) as exc:
            self.close()
            raise HostGone(f"lost the connection to {self._where}: {type(exc).__name__}", may_have_run=True) from exc
        error = _ERRORS.get(str(status.get("kind")), StoreError)
        if error is StoreNotInitialised:
            raise StoreNotInitialised(self._where)
        raise error(str(status.get("message", "the hosting process refused the request")))

    @property
    def _where(self) -> str:
        return f"the finsent process {self._handle.pid} that holds {self._data_path}"


def connect_to_host(data_path: Path, database: str) -> RemoteEngine:
    """The engine of the process holding ``data_path``; StoreLocked if that process does not share it."""
    handle = HostHandle.read(data_path)
    if handle is None:
        raise StoreLocked(
            f"the store at {data_path} is in use by another process that does not share it: "
            "stop that process, or run `finsent worker` or `finsent api`, which share their store"
        )
    if handle.database != database:
        raise StoreLocked(
            f"the store at {data_path} is in use by a process serving database {handle.database!r}, "
            f"not {database!r}: use the same FINSENT_STORE_URL"
        )
    return RemoteEngine(data_path, handle)


def discard_handle(data_path: Path) -> None:
    """Remove a handle left in ``data_path`` by a process that died (call only while holding the path)."""
    with contextlib.suppress(FileNotFoundError):
        (data_path / HANDLE_NAME).unlink()


def _connect(handle: HostHandle, timeout_s: float = HANDSHAKE_TIMEOUT_S) -> Connection:
    """``multiprocessing.connection.Client`` with a bounded connect and handshake.

    A port left in a stale handle may belong to another program by now, one that never answers.
    """
    with socket.create_connection(("127.0.0.1", handle.port), timeout=timeout_s) as sock:
        sock.settimeout(None)
        connection = Connection(sock.detach())
    try:
        with _receive_timeout(connection, timeout_s):
            answer_challenge(connection, handle.authkey)
            deliver_challenge(connection, handle.authkey)
    except BaseException:
        connection.close()
        raise
    return connection


@contextlib.contextmanager
def _receive_timeout(connection: Connection, seconds: float) -> Iterator[None]:
    """Make reads on ``connection`` fail (OSError) after ``seconds`` of silence, until the block ends."""
    with socket.socket(fileno=os.dup(connection.fileno())) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(seconds))
        try:
            yield
        finally:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval(0.0))


def _timeval(seconds: float) -> bytes:
    whole = int(seconds)
    return struct.pack("ll", whole, int((seconds - whole) * 1_000_000))
