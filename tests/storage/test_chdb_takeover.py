"""A shared embedded store outlives the process that holds it: the next one that needs it takes it over.

The holder is killed (SIGKILL: no clean-up, its handle stays behind) under an API that reads
through it, and under two processes that then race to take the path over.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import ClassifierSource, create_app
from api.keys import KeyRing
from config import Settings
from models import Classifier
from schemas import DocumentRow
from storage import StoreUnavailable, chdb_store, open_store
from storage.chdb_host import HostHandle
from tests.storage.conftest import ROOT
from tests.storage.test_chdb_sharing import hosted

pytestmark = pytest.mark.integration

WINDOW = {"from": "2024-03-01T00:00:00Z", "to": "2024-03-02T00:00:00Z"}
# A worker or a CLI command: opens the store, says through whom, reads once told to, holds until stdin closes.
CLIENT = """
import sys
from storage import StoreUnavailable, chdb_store, open_store
store = open_store(f"chdb://{sys.argv[1]}", create=False)
role = lambda: "client" if "through the process" in store.description else "holder"
print(role(), flush=True)
sys.stdin.readline()
print(store.count_documents(), role(), flush=True)
sys.stdin.read()
store.close()
"""


# A process that holds the path without sharing it (chdb alone, no finsent handle).
UNSHARED = """
import sys, time
from chdb.session import Session
session = Session(sys.argv[1])
print("ready", flush=True)
time.sleep(120)
"""


def no_classifier() -> Classifier:
    raise AssertionError("these tests never classify")


@contextmanager
def client_process(path: Path) -> Iterator[subprocess.Popen[str]]:
    """A process that opened the store at ``path`` and waits for a line on stdin to read from it."""
    process = subprocess.Popen(
        [sys.executable, "-c", CLIENT, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        yield process
    finally:
        if process.stdin is not None and not process.stdin.closed:
            process.stdin.close()
        process.wait(timeout=60)


def ask(process: subprocess.Popen[str], line: str = "") -> str:
    assert process.stdin is not None and process.stdout is not None
    if line:
        process.stdin.write(line)
        process.stdin.flush()
    return process.stdout.readline().strip()


def stored_ids(api: TestClient, headers: dict[str, str]) -> list[str]:
    answer = api.get("/v1/documents", params=WINDOW, headers=headers)
    assert answer.status_code == 200, answer.text
    return [document["doc_id"] for document in answer.json()["documents"]]


def test_the_api_keeps_answering_when_the_holder_is_killed(
    tmp_path: Path, make_document: Callable[..., DocumentRow]
) -> None:
    path = tmp_path / "chdb"
    with hosted(path) as holder:
        store = open_store(f"chdb://{path}", create=False)
        try:
            store.share()  # as `finsent api` does: a no-op while another process holds the path
            store.insert_documents([make_document("before")])
            _, token = KeyRing(store).create("reader", "read")
            settings = Settings(_env_file=None, api_key_cache_s=0)  # type: ignore[call-arg]
            api = TestClient(create_app(settings.api, store, ClassifierSource(no_classifier)))
            headers = {"Authorization": f"Bearer {token}"}
            assert stored_ids(api, headers) == ["before"]

            holder.kill()
            holder.wait(timeout=30)

            assert stored_ids(api, headers) == ["before"], "the old data stays readable"
            assert api.get("/healthz").status_code == 200
            handle = HostHandle.read(path)
            assert handle is not None and handle.pid == os.getpid(), "the API took the store over and shares it"

            with client_process(path) as worker:
                assert ask(worker) == "client", "a worker started later uses the API's store"
                assert ask(worker, "go\n") == "1 client"
        finally:
            store.close()


def test_two_processes_that_lose_the_holder_at_once_agree_on_a_new_one(
    tmp_path: Path, make_document: Callable[..., DocumentRow]
) -> None:
    path = tmp_path / "chdb"
    with hosted(path) as holder:
        with open_store(f"chdb://{path}") as store:
            store.insert_documents([make_document("kept")])
        with client_process(path) as first, client_process(path) as second:
            assert (ask(first), ask(second)) == ("client", "client")
            holder.kill()
            holder.wait(timeout=30)
            for process in (first, second):
                assert process.stdin is not None
                process.stdin.write("go\n")
                process.stdin.flush()
            answers = sorted((ask(first), ask(second)))
    assert answers == ["1 client", "1 holder"], "one took the path over, the other uses it through that one"


def test_a_path_taken_by_a_process_that_does_not_share_it_is_one_error_until_it_is_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chdb_store, "TAKEOVER_WAIT_S", 0.5)
    path = tmp_path / "chdb"
    with hosted(path) as holder:
        store = open_store(f"chdb://{path}", create=False)
        holder.kill()
        holder.wait(timeout=30)
    unshared = subprocess.Popen([sys.executable, "-c", UNSHARED, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert unshared.stdout is not None and unshared.stdout.readline().strip() == "ready"
        for _ in range(2):
            with pytest.raises(StoreUnavailable, match="no process took its place") as caught:
                store.count_documents()
            assert "\n" not in str(caught.value)
        unshared.kill()
        unshared.wait(timeout=30)
        assert store.count_documents() == 0
        assert "through the process" not in store.description
    finally:
        if unshared.poll() is None:
            unshared.kill()
            unshared.wait(timeout=30)
        store.close()
