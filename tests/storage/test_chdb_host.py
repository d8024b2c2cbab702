"""The store-sharing port faces every local user: what it does with clients that lack the key."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from storage.chdb_host import HANDLE_NAME, HostHandle, RemoteEngine, StoreHost

GARBAGE = {
    "http": b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "a wrong digest": b"\x00\x00\x00\x05hello",
    "a cut message": b"\x00\x00\x00\x40short",
    "a huge length": b"\xff\xff\xff\xff\x7f\xff\xff\xff\xff\xff\xff\xff",
}


def answer(request: dict[str, Any]) -> bytes:
    return f"ran {request['op']}".encode()


@pytest.fixture
def host(tmp_path: Path) -> Iterator[StoreHost]:
    shared = StoreHost(tmp_path, "default", answer, handshake_timeout_s=0.5)
    yield shared
    shared.close()


@pytest.fixture
def thread_errors(monkeypatch: pytest.MonkeyPatch) -> list[BaseException | None]:
    """Exceptions that escaped a thread (they would print a traceback)."""
    caught: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: caught.append(args.exc_value))
    return caught


def read_to_end(connection: socket.socket) -> bytes:
    """Everything the host sends until it hangs up (a reset too: it closes with our garbage unread)."""
    connection.settimeout(30)
    received = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := connection.recv(4096):
            received += chunk
    return received


def join_client_threads() -> None:
    for thread in threading.enumerate():
        if thread.name == "finsent-store-client":
            thread.join(timeout=30)


@pytest.mark.parametrize("garbage", GARBAGE.values(), ids=GARBAGE.keys())
def test_garbage_on_the_port_logs_one_line_and_no_traceback(
    host: StoreHost, garbage: bytes, caplog: pytest.LogCaptureFixture, thread_errors: list[BaseException | None]
) -> None:
    caplog.set_level(logging.INFO, logger="storage.chdb_host")
    caplog.clear()
    with socket.create_connection(("127.0.0.1", host.port)) as connection:
        connection.sendall(garbage)
        if garbage is GARBAGE["a cut message"]:
            connection.shutdown(socket.SHUT_WR)
        read_to_end(connection)
    join_client_threads()
    assert thread_errors == []
    records = [r for r in caplog.records if r.name == "storage.chdb_host"]
    assert len(records) == 1 and records[0].exc_info is None
    assert "\n" not in records[0].getMessage() and "refused a connection" in records[0].getMessage()


def test_a_silent_connection_is_dropped_after_the_handshake_timeout(
    host: StoreHost, caplog: pytest.LogCaptureFixture, thread_errors: list[BaseException | None]
) -> None:
    with socket.create_connection(("127.0.0.1", host.port)) as connection:
        assert read_to_end(connection).startswith(b"\x00\x00\x00"), "the host sent its challenge, then hung up"
    join_client_threads()
    assert thread_errors == []
    assert any("did not present the key" in r.getMessage() for r in caplog.records)


def test_a_client_with_the_key_stays_connected_while_idle(host: StoreHost, tmp_path: Path) -> None:
    handle = HostHandle.read(tmp_path)
    assert handle is not None and (tmp_path / HANDLE_NAME).exists()
    engine = RemoteEngine(tmp_path, handle)
    try:
        assert engine.query("SELECT 1", "CSV") == b"ran query"
        time.sleep(1.0)  # longer than the handshake timeout: it must not apply once the key is checked
        assert engine.query("SELECT 1", "CSV") == b"ran query"
    finally:
        engine.close()
