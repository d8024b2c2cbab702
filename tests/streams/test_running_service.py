"""Every read and admin command works while a worker and the API run on one embedded store.

The worker holds the chdb data path and shares it; the API and each CLI command reach the
data through it. Commands run as their own processes, as an operator would run them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from finsent.dev.broker import EmbeddedBroker, free_port
from tests.streams.feed import send_feed, start_worker
from tests.streams.test_worker_integration import wait_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def finsent(env: dict[str, str], *args: str) -> str:
    """Run one ``finsent`` command; it must succeed without a traceback. Returns its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "finsent.cli", *args],
        env=os.environ | env, capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 0, f"finsent {' '.join(args)} -> {done.returncode}: {done.stderr}"
    return done.stdout


@contextmanager
def api_server(env: dict[str, str], log: Path) -> Iterator[str]:
    port = free_port()
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "finsent.cli", "api", "--port", str(port)],
            env=os.environ | env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"the API did not come up:\n{log.read_text()}"
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_query_keys_and_rules_while_a_worker_and_the_api_run(
    broker: EmbeddedBroker, worker_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**worker_env, "FINSENT_API_KEY_CACHE_S": "1"}
    worker = start_worker(env, tmp_path / "worker.log")
    feed = send_feed(broker.bootstrap, docs=120, bad_ratio=0.1, seed=7)
    wait_for([worker], "messages", feed.stats.produced)

    with api_server(env, tmp_path / "api.log") as url:
        created = json.loads(finsent(env, "api-key", "create", "desk", "--scope", "admin").splitlines()[0])
        bearer = {"Authorization": f"Bearer {created['key']}"}
        assert created["key_id"] in finsent(env, "api-key", "list")

        documents = json.loads(finsent(env, "query", "documents", "--since", "3650d", "--format", "json"))
        assert documents and all(d["doc_id"] for d in documents)
        assert json.loads(finsent(env, "query", "symbols", "--since", "3650d", "--format", "json"))
        assert json.loads(finsent(env, "query", "dead-letters", "--since", "3650d", "--format", "json"))
        api_page = httpx.get(f"{url}/v1/documents", headers=bearer)
        assert api_page.status_code == 200, api_page.text

        finsent(env, "alerts", "rules", "add", "--id", "desk-gloom", "--scope", "symbol", "--metric", "mean_score",
                "--comparison", "<", "--threshold", "-0.5")  # fmt: skip
        assert "desk-gloom" in finsent(env, "alerts", "rules", "list")
        assert "desk-gloom" in httpx.get(f"{url}/v1/rules", headers=bearer).text
        finsent(env, "alerts", "rules", "remove", "desk-gloom")

        assert json.loads(finsent(env, "api-key", "revoke", created["key_id"]))["changed"] is True
        deadline = time.monotonic() + 15
        while httpx.get(f"{url}/v1/symbols", headers=bearer).status_code != 401:
            assert time.monotonic() < deadline, "a revoked key still works after 15 s"
            time.sleep(0.5)

        more = send_feed(broker.bootstrap, docs=60, bad_ratio=0.0, seed=8)
        wait_for([worker], "messages", feed.stats.produced + more.stats.produced)
    assert worker.alive(), worker.log_tail()
    worker.stop()
    assert "Traceback" not in (tmp_path / "worker.log").read_text()
    assert "Traceback" not in (tmp_path / "api.log").read_text()
