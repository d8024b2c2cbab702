"""Fixtures for storage tests: the ``store`` on each backend and record builders.

The clickhouse-server fixtures (``clickhouse_server``, ``clickhouse_url``, ``closed_port``) live in
``tests/storage/clickhouse_server.py`` so that other test folders can use them too.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from schemas import DocumentRow, ScoreRecord
from storage import Store, open_store

ROOT = Path(__file__).resolve().parents[2]
HOST_STORE = """
import sys
from storage import open_store
with open_store(f"chdb://{sys.argv[1]}") as store:
    store.init_schema()
    store.share()
    print("ready", flush=True)
    sys.stdin.read()
"""
BACKENDS = ("chdb", "chdb-shared", "clickhouse")


@pytest.fixture(scope="session")
def shared_chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A chdb data path held and shared by another process (a stand-in for a running worker)."""
    path = tmp_path_factory.mktemp("shared") / "chdb"
    host = subprocess.Popen(
        [sys.executable, "-c", HOST_STORE, str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        assert host.stdout is not None and host.stdout.readline().strip() == "ready"
        yield path
    finally:
        assert host.stdin is not None
        host.stdin.close()
        host.wait(timeout=30)


@pytest.fixture(params=[pytest.param(name, marks=pytest.mark.integration) for name in BACKENDS])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An initialised, empty store on each backend; closed (and emptied) afterwards.

    ``chdb-shared`` runs every statement through another process that holds the data path.
    """
    if request.param == "chdb":
        url = f"chdb://{tmp_path / 'chdb'}"
    elif request.param == "chdb-shared":
        url = f"chdb://{request.getfixturevalue('shared_chdb_path')}"
    else:
        url = request.getfixturevalue("clickhouse_url")
    opened = open_store(url)
    try:
        if request.param == "chdb-shared":
            assert "through the process that holds it" in opened.description
            opened.drop_all()
        opened.init_schema()
        yield opened
        if request.param == "clickhouse" and not opened.closed:
            opened.drop_all()
    finally:
        opened.close()


T0 = datetime(2024, 3, 1, 12, 0, 5, tzinfo=UTC)


@pytest.fixture
def make_document() -> Callable[..., DocumentRow]:
    """Build a DocumentRow; keyword arguments override the defaults."""

    def build(doc_id: str, **overrides: Any) -> DocumentRow:
        fields: dict[str, Any] = {
            "doc_id": doc_id,
            "kind": "news",
            "source": "wire",
            "event_time": T0,
            "ingested_at": T0,
            "headline": f"headline {doc_id}",
            "body": "body",
            "url": "https://x.test/a",
            "author_hash": "ah",
            "symbols": ["AAPL"],
            "content_hash": f"hash-{doc_id}",
            "topic": "earnings",
            "topic_confidence": 0.9,
            "sentiment": 1,
            "p_negative": 0.1,
            "p_neutral": 0.2,
            "p_positive": 0.7,
            "score": 0.6,
            "model_version": "m1",
        }
        fields.update(overrides)
        return DocumentRow(**fields)

    return build


@pytest.fixture
def make_score() -> Callable[..., ScoreRecord]:
    """Build a ScoreRecord; keyword arguments override the defaults."""

    def build(doc_id: str, symbol: str = "AAPL", **overrides: Any) -> ScoreRecord:
        fields: dict[str, Any] = {
            "doc_id": doc_id,
            "kind": "news",
            "source": "wire",
            "symbol": symbol,
            "event_time": T0,
            "topic": "earnings",
            "topic_confidence": 0.9,
            "sentiment": 1,
            "p_negative": 0.1,
            "p_neutral": 0.2,
            "p_positive": 0.7,
            "score": 0.6,
            "model_version": "m1",
            "ingested_at": T0,
        }
        fields.update(overrides)
        return ScoreRecord(**fields)

    return build
