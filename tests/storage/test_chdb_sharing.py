"""An embedded store shared by the process that holds it (``Store.share``) with other local processes.

The Store contract itself also runs through a shared store (the ``chdb-shared`` backend of the
``store`` fixture); these tests cover what only sharing has: the handle, refusals, lost hosts.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest

from schemas import DocumentRow
from storage import StoreError, StoreUnavailable, open_store
from storage.chdb_host import HANDLE_NAME, HostHandle
from storage.exceptions import StoreLocked, StoreNotInitialised
from tests.storage.conftest import ROOT

pytestmark = pytest.mark.integration

HOST = """
import sys
from storage import open_store
with open_store(f"chdb://{sys.argv[1]}?database={sys.argv[2]}") as store:
    if sys.argv[3] == "init":
        store.init_schema()
    store.share()
    print("ready", flush=True)
    sys.stdin.read()
print("closed", flush=True)
"""


@contextmanager
def hosted(path: Path, database: str = "default", init: bool = True) -> Iterator[subprocess.Popen[str]]:
    """Another process that opens ``path``, shares it, and closes it when its stdin closes."""
    args = [sys.executable, "-c", HOST, str(path), database, "init" if init else "bare"]
    host = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert host.stdout is not None and host.stdout.readline().strip() == "ready"
        yield host
    finally:
        stop(host)


def stop(host: subprocess.Popen[str]) -> None:
    if host.stdin is not None and not host.stdin.closed:
        host.stdin.close()
    host.wait(timeout=30)


def test_reads_and_writes_go_through_the_holder(tmp_path: Path, make_document: Callable[..., DocumentRow]) -> None:
    path = tmp_path / "chdb"
    with hosted(path):
        handle = path / HANDLE_NAME
        assert stat.S_IMODE(handle.stat().st_mode) == 0o600
        with open_store(f"chdb://{path}", create=False) as store:
            store.insert_documents([make_document("through")])
            assert store.existing_documents(["through", "other"]) == {"through": "hash-through"}
            with pytest.raises(StoreError, match="Syntax error"):
                store._query("SELECT (")
            assert store.count_documents() == 1, "the host survives a failed statement"
        assert handle.exists()
    assert not handle.exists(), "a host removes its handle when it closes"
    with open_store(f"chdb://{path}") as store:
        assert "through the process" not in store.description
        assert store.existing_documents(["through"]) == {"through": "hash-through"}


def test_a_store_without_tables_says_so_through_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "chdb"
    with hosted(path, init=False), open_store(f"chdb://{path}") as store:
        with pytest.raises(StoreNotInitialised, match=r"no finsent tables yet") as caught:
            store.count_documents()
        assert str(path) in str(caught.value) and "SELECT" not in str(caught.value)


def test_a_stale_handle_is_refused_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "chdb"
    with hosted(path) as host:
        handle = (path / HANDLE_NAME).read_bytes()
        stop(host)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from chdb.session import Session; s = Session(sys.argv[1]);"
         " print('ready', flush=True); time.sleep(60)", str(path)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreLocked, match="does not share it"):
            open_store(f"chdb://{path}")
        (path / HANDLE_NAME).write_bytes(handle)
        with pytest.raises(StoreLocked, match="does not answer"):
            open_store(f"chdb://{path}")
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_a_wrong_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "chdb"
    with hosted(path):
        raw = orjson.loads((path / HANDLE_NAME).read_bytes())
        raw["authkey"] = "00" * 32
        (path / HANDLE_NAME).write_bytes(orjson.dumps(raw))
        with pytest.raises(StoreLocked, match="in use by another process"):
            open_store(f"chdb://{path}")


def test_another_database_on_the_same_path_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "chdb"
    with hosted(path, database="finsent"):
        assert HostHandle.read(path) is not None
        with pytest.raises(StoreLocked, match="serving database 'finsent'"):
            open_store(f"chdb://{path}?database=other")
        with open_store(f"chdb://{path}?database=finsent") as store:
            assert store._query("SELECT currentDatabase()") == [("finsent",)]


def test_a_store_whose_holder_exits_takes_the_path_over(
    tmp_path: Path, make_document: Callable[..., DocumentRow]
) -> None:
    path = tmp_path / "chdb"
    with hosted(path) as host:
        store = open_store(f"chdb://{path}")
        store.insert_documents([make_document("kept")])
        stop(host)
    try:
        assert store.count_documents() == 1, "a read whose holder went away is asked again"
        assert "through the process" not in store.description
        handle = HostHandle.read(path)
        assert handle is not None and handle.pid == os.getpid(), "the store taken over is shared in turn"
        with hosted(path):
            assert HostHandle.read(path) == handle, "a process started later uses the new holder"
            store.insert_documents([make_document("later")])
        assert store.count_documents() == 2
    finally:
        store.close()
    assert not (path / HANDLE_NAME).exists()


def test_a_write_whose_holder_was_killed_fails_once_and_then_works(
    tmp_path: Path, make_document: Callable[..., DocumentRow]
) -> None:
    path = tmp_path / "chdb"
    with hosted(path) as host:
        store = open_store(f"chdb://{path}")
        store.count_documents()
        host.kill()
        host.wait(timeout=30)
    try:
        # The write was sent before the break showed: it may have run, so it is not repeated here.
        with pytest.raises(StoreUnavailable, match="lost the connection"):
            store.insert_documents([make_document("after")])
        store.insert_documents([make_document("after")])
        assert store.existing_documents(["after"]) == {"after": "hash-after"}
    finally:
        store.close()


def test_opening_a_free_path_discards_a_dead_holders_handle(tmp_path: Path) -> None:
    path = tmp_path / "chdb"
    with hosted(path) as host:
        host.kill()
        host.wait(timeout=30)
    assert (path / HANDLE_NAME).exists(), "a killed holder leaves its handle"
    with open_store(f"chdb://{path}") as store:
        assert not (path / HANDLE_NAME).exists()
        assert store.count_documents() == 0
