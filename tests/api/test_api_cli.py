"""``finsent api``, ``finsent api-key`` and ``finsent query alerts|sentiment --plot`` against a seeded chdb store."""

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
from click.testing import CliRunner

from finsent.cli import main
from finsent.dev.broker import free_port
from storage import open_store
from tests.api.conftest import secret_of
from tests.dashboards.seed import BURST_SYMBOL, seed


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FINSENT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("FINSENT_STORE_URL", raising=False)
    with open_store(f"chdb://{(tmp_path / 'chdb').resolve()}") as store:
        store.init_schema()
        seed(store)
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_api_keys_are_shown_once_listed_without_secrets_and_revocable(data_dir: Path) -> None:
    code, out = run("api-key", "create", "desk", "--scope", "write")
    assert code == 0, out
    created = json.loads(out.splitlines()[0])
    assert created["scope"] == "write" and created["key"].startswith(f"fsk_{created['key_id']}_")
    code, listed = run("api-key", "list")
    assert code == 0 and created["key_id"] in listed and "active" in listed
    assert secret_of(created["key"]) not in listed
    assert json.loads(run("api-key", "revoke", created["key_id"])[1])["changed"] is True
    assert json.loads(run("api-key", "revoke", created["key_id"])[1])["changed"] is False
    assert "revoked" in run("api-key", "list")[1]


def test_query_alerts_and_the_plot(data_dir: Path) -> None:
    code, out = run("query", "alerts", "--symbol", BURST_SYMBOL, "--format", "json")
    assert code == 0, out
    assert {row["rule_id"] for row in json.loads(out)} == {"neg-burst", "score-drop"}
    code, table = run("query", "alerts", "--symbol", BURST_SYMBOL)
    assert code == 0 and "neg-burst" in table and max(map(len, table.splitlines())) <= 100
    code, wide = run("query", "alerts", "--symbol", BURST_SYMBOL, "--wide")
    assert code == 0 and "headlines" in wide
    chart = data_dir / "charts" / "nvda.png"
    code, out = run("query", "sentiment", "--symbol", BURST_SYMBOL, "--since", "6h", "--interval", "10m",
                    "--plot", str(chart), "--format", "csv")  # fmt: skip
    assert code == 0, out
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 20_000
    code, out = run("query", "sentiment", "--symbol", "ZZZZ", "--plot", str(data_dir / "empty.png"))
    assert code == 1 and "nothing to plot" in out


@contextmanager
def _served(data_dir: Path) -> Iterator[str]:
    """``finsent api`` as its own process over ``data_dir`` (which it then holds); yields its base URL."""
    port = free_port()
    env = os.environ | {"FINSENT_DATA_DIR": str(data_dir)}
    command = [sys.executable, "-m", "finsent.cli", "api", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "finsent api did not answer /healthz within 60 s"
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_running_api_over_stored_data(data_dir: Path) -> None:
    _, created = run("api-key", "create", "analyst", "--scope", "read")
    read_key = json.loads(created.splitlines()[0])["key"]
    with _served(data_dir) as url:
        assert httpx.get(f"{url}/healthz").status_code == 200
        assert httpx.post(f"{url}/v1/classify", json={"texts": ["NVDA beats"]}).status_code == 401
        series = httpx.get(
            f"{url}/v1/sentiment", params={"symbol": BURST_SYMBOL}, headers={"Authorization": f"Bearer {read_key}"}
        )
        assert series.status_code == 200, series.text
        assert series.json()["points"] and series.headers["content-type"] == "application/json"
        assert "fsk_" not in httpx.get(f"{url}/metrics").text
