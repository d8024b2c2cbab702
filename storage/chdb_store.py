"""``ChdbStore``: ClickHouse embedded in this process (chdb), data kept under one directory.

chdb hosts one engine per process bound to one data path, and a data path can be used by
one process only; so at most one ChdbStore is open per process, and ``close()`` shuts
the engine down. A long-running owner calls ``share()`` so that other local processes (the
CLI's read and admin commands, an API beside a worker) open the same path through it.

A store opened through another process survives that process: when the connection breaks,
the store takes the path over if its lock is free (and shares it in turn), or else follows
the process that took it over first; a read whose answer was lost is asked again.
"""

from __future__ import annotations

import errno
import fcntl
import itertools
import logging
import math
import os
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pyarrow as pa
from chdb.session import Session

from config.files import private_dir
from storage.base import Store
from storage.chdb_host import Engine, HostGone, StoreHost, connect_to_host, discard_handle, run_request
from storage.chdb_results import SESSION_SETTINGS, decode_json_compact
from storage.exceptions import (
    StoreConfigError,
    StoreError,
    StoreLocked,
    StoreNotInitialised,
    StoreUnavailable,
    is_unknown_table,
    short_reason,
)
from storage.urls import ChdbConfig, checked_identifier, parse_chdb_url
from storage.values import render_params, render_settings

T = TypeVar("T")
log = logging.getLogger(__name__)

TAKEOVER_WAIT_S = 10.0
"""How long a store whose holder went away looks for the lock or a new holder before giving up."""
_POLL_S = 0.1
_registry_lock = threading.Lock()
_open_path: Path | None = None


class ChdbStore(Store):
    """finsent tables in an embedded chdb engine; see the module docstring for the limits."""

    drop_suffix = " SYNC"

    def __init__(self, path: str | os.PathLike[str], database: str = "default", create: bool = True) -> None:
        super().__init__()
        self._config = ChdbConfig(path=_data_dir(path, create), database=checked_identifier(database))
        self._host: StoreHost | None = None
        self._lost_at: float | None = None
        self._engine, self._remote = self._attach(wait_s=0.0)

    @classmethod
    def from_url(cls, url: str, create: bool = True) -> ChdbStore:
        """Open ``chdb:///absolute/path`` or ``chdb://relative/path`` (``?database=`` optional).

        With ``create=False`` a data path that does not exist is a StoreConfigError, not a new store.
        """
        config = parse_chdb_url(url)
        return cls(config.path, config.database, create)

    @property
    def description(self) -> str:
        """``chdb:///data/path`` (and the database if not ``default``), and whether another process holds it."""
        where = self._config.describe()
        return f"{where} (through the process that holds it)" if self._remote else where

    @property
    def path(self) -> Path:
        """The data directory this store holds locked."""
        return self._config.path

    def share(self) -> None:
        """Serve this store to other local processes until it is closed (see ``storage.chdb_host``)."""
        with self._open():
            if self._host is None and not self._remote:
                self._host = StoreHost(self._config.path, self._config.database, self._serve_request)

    def _serve_request(self, request: dict[str, Any]) -> bytes:
        with self._open():
            return run_request(self._engine, request)

    def _attach(self, wait_s: float) -> tuple[Engine, bool]:
        """This process's engine on the path if no process holds it, else the holder's (and ``True``).

        Tries again until ``wait_s`` has passed: a process that took the path over holds its
        lock a moment before it shares it. StoreLocked when neither worked.
        """
        deadline = time.monotonic() + wait_s
        while True:
            try:
                return LocalEngine.open(self._config.path, self._config.database), False
            except StoreLocked:
                pass
            try:
                return connect_to_host(self._config.path, self._config.database), True
            except StoreLocked:
                if time.monotonic() >= deadline:
                    raise
            time.sleep(_POLL_S)

    def _on_engine(self, statement: Callable[[Engine], T], repeatable: bool) -> T:
        """Run ``statement`` on the engine; if the holder went away, replace it and run ``statement`` again
        when it never reached the old holder or is ``repeatable`` (a read)."""
        try:
            return statement(self._engine)
        except HostGone as lost:
            self._replace_holder(lost)
            if lost.may_have_run and not repeatable:
                raise
            return statement(self._engine)

    def _replace_holder(self, lost: HostGone) -> None:
        """Take the path over (and share it), or follow the process that took it over first.

        The search waits ``TAKEOVER_WAIT_S`` after the loss in all; later statements try once
        each, so a path held by a process that does not share it costs no request more.
        """
        self._engine.close()
        if self._lost_at is None:
            self._lost_at = time.monotonic()
        try:
            self._engine, self._remote = self._attach(max(0.0, self._lost_at + TAKEOVER_WAIT_S - time.monotonic()))
        except StoreLocked as exc:
            raise StoreUnavailable(f"{lost}; no process took its place: {exc}") from exc
        self._lost_at = None
        if self._remote:
            log.info("the store at %s is held by another process now: using it through that one", self._config.path)
            return
        self._host = StoreHost(self._config.path, self._config.database, self._serve_request)
        log.warning("took over the store at %s: %s; this process shares it now", self._config.path, lost)

    def _create_database(self) -> None:
        self._run(f"CREATE DATABASE IF NOT EXISTS {self._config.database}")

    def _command(self, sql: str) -> None:
        self._run(sql)

    def _select(self, sql: str, params: dict[str, Any] | None) -> tuple[list[str], list[tuple]]:
        return decode_json_compact(self._run(render_params(sql, params), "JSONCompact", repeatable=True))

    def _select_json(self, sql: str, params: dict[str, Any] | None) -> bytes:
        # ClickHouse writes the rows (one object per line, never a raw newline inside one);
        # ``sql`` must not carry its own SETTINGS or FORMAT clause.
        iso_times = f"{render_params(sql, params)} SETTINGS date_time_output_format = 'iso'"
        lines = self._run(iso_times, "JSONEachRow", repeatable=True).rstrip(b"\n")
        return b"[" + lines.replace(b"\n", b",") + b"]"

    def supports_insert_tokens(self) -> bool:
        return True

    def _insert(
        self, table: str, columns: Sequence[str], data: list[list[Any]], settings: Mapping[str, Any] | None = None
    ) -> None:
        self._on_engine(lambda engine: engine.insert(table, columns, data, settings), repeatable=False)

    def _run(self, sql: str, fmt: str = "CSV", repeatable: bool = False) -> bytes:
        """Run ``sql``; ``repeatable`` (a read) lets a lost holder's replacement run it again."""
        try:
            return self._on_engine(lambda engine: engine.query(sql, fmt), repeatable)
        except StoreNotInitialised as exc:
            raise StoreNotInitialised(f"the store at {self._config.path}") from exc

    def _release(self) -> None:
        try:
            if self._host is not None:
                self._host.close()
        finally:
            self._engine.close()


class LocalEngine:
    """This process's chdb session on one data path (the only one it may open)."""

    def __init__(self, session: Session, path: Path) -> None:
        self._session = session
        self._shutdown = weakref.finalize(self, _shutdown, session, path)

    @classmethod
    def open(cls, path: Path, database: str) -> LocalEngine:
        """Claim this process's chdb slot, open ``path`` and use ``database`` (created if missing).

        StoreLocked if another process holds the path. A handle found there is stale (its
        process died, since the lock was free) and is removed.
        """
        _claim(path)
        try:
            engine = cls(_open_session(path), path)
        except BaseException:
            _unclaim(path)
            raise
        try:
            engine.configure(database)
        except BaseException:
            engine.close()
            raise
        discard_handle(path)
        return engine

    def configure(self, database: str) -> None:
        """Apply finsent's session settings and make ``database`` (created if missing) the current one."""
        for name, value in SESSION_SETTINGS.items():
            self.query(f"SET {name} = {value}", "CSV")
        self.query(f"CREATE DATABASE IF NOT EXISTS {database}", "CSV")
        self.query(f"USE {database}", "CSV")

    def query(self, sql: str, fmt: str) -> bytes:
        try:
            return bytes(self._session.query(sql, fmt).bytes())
        except Exception as exc:
            if is_unknown_table(str(exc)):
                raise StoreNotInitialised("this store") from exc
            raise StoreError(f"chdb query failed: {short_reason(str(exc))}") from exc

    def insert(
        self, table: str, columns: Sequence[str], data: list[list[Any]], settings: Mapping[str, Any] | None
    ) -> None:
        names = ", ".join(columns)
        with_settings = f" SETTINGS {render_settings(settings)}" if settings else ""
        rows = _json_columns(data)
        if rows is not None:
            sql = f"INSERT INTO {table} ({names}){with_settings} FORMAT JSONCompactColumns {rows}"
        else:
            finsent_insert_block = _arrow_table(columns, data)  # noqa: F841 -- read by Python(...) below
            sql = f"INSERT INTO {table} ({names}){with_settings} SELECT {names} FROM Python(finsent_insert_block)"
        try:
            self._session.query(sql, "CSV")
        except Exception as exc:
            raise StoreError(f"chdb insert into {table} failed: {short_reason(str(exc))}") from exc

    def close(self) -> None:
        self._shutdown()


def _shutdown(session: Session, path: Path) -> None:
    """Close the engine and free the process's one chdb slot (also run if a store is garbage-collected)."""
    try:
        session.close()
    finally:
        _unclaim(path)


def _json_columns(data: list[list[Any]]) -> str | None:
    """The columns as JSON, or None where JSON cannot carry them exactly (NaN, infinities, other types).

    The engine parses JSON in about half the time it reads the same rows through ``Python(...)``
    (measured on the story index's rows), floats included bit for bit; and the Arrow path costs
    each process a pandas import (pyarrow's ``pa.array`` imports it whenever it is installed).
    """
    if not all(_json_exact(values) for values in data):
        return None
    try:
        return orjson.dumps(data).decode()
    except orjson.JSONEncodeError:  # an integer beyond 64 bits, a lone surrogate: Arrow says what is wrong
        return None


def _json_exact(values: list[Any]) -> bool:
    """Whether JSON carries this column exactly (types looked at a column at a time, in C)."""
    kinds = set(map(type, values))
    if list in kinds:
        return kinds == {list} and _json_exact(list(itertools.chain.from_iterable(values)))
    if not kinds <= _JSON_EXACT:
        return False
    return float not in kinds or all(math.isfinite(value) for value in values if type(value) is float)


_JSON_EXACT = {int, str, float, type(None)}


def _arrow_table(columns: Sequence[str], data: list[list[Any]]) -> pa.Table:
    arrays = []
    for values in data:
        if values and isinstance(values[0], list | tuple):
            arrays.append(pa.array(values, type=pa.list_(_element_type(values))))
        else:
            arrays.append(pa.array(values))
    return pa.Table.from_arrays(arrays, names=list(columns))


def _element_type(lists: list[Any]) -> pa.DataType:
    """The Arrow type of an array column's elements: strings (also when every array is empty), else
    64-bit floats if any element is a float, else 64-bit integers; the insert casts to the column's type."""
    kinds = {type(item) for items in lists for item in items}
    if not kinds or str in kinds:
        return pa.string()
    return pa.float64() if float in kinds else pa.int64()


def _data_dir(path: str | os.PathLike[str], create: bool) -> Path:
    resolved = Path(path).expanduser().resolve()
    if "?" in str(resolved):
        raise StoreConfigError("a chdb data path cannot contain '?'")
    if not create and not resolved.is_dir():
        raise StoreConfigError(
            f"no finsent store at {resolved}: check FINSENT_DATA_DIR (or FINSENT_STORE_URL), "
            "or run `finsent worker` or `make demo` first"
        )
    return private_dir(resolved)


def _claim(path: Path) -> None:
    global _open_path
    with _registry_lock:
        if _open_path is not None:
            raise StoreError(
                f"a ChdbStore for {_open_path} is already open in this process; chdb allows one "
                f"data path per process: close it (or share it) before opening {path}"
            )
        _open_path = path


def _unclaim(path: Path) -> None:
    global _open_path
    with _registry_lock:
        if _open_path == path:
            _open_path = None


def _open_session(path: Path) -> Session:
    _refuse_if_locked(path)
    try:
        return Session(str(path))
    except Exception as exc:
        message = str(exc)
        if "Error initializing EmbeddedServer" in message or "Cannot lock file" in message:
            raise StoreLocked(f"chdb data path {path} is in use by another process") from exc
        raise StoreError(f"cannot open chdb data path {path}: {message}") from exc


def _refuse_if_locked(path: Path) -> None:
    status = path / "status"
    if not status.exists():
        return
    fd = os.open(status, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise StoreLocked(f"chdb data path {path} is in use by another process") from None
        raise
    finally:
        os.close(fd)
