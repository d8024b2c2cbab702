"""``finsent query … --count stories|documents``: a story's copies count once, and its mean score once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from finsent.cli import main
from schemas import DocumentRow
from storage import open_store

pytestmark = pytest.mark.integration
SCORES = {"n1": -0.9, "n1-copy": -0.6, "n1-rt": 0.0, "n2": 0.8}
STORY_MEAN = ((-0.9 - 0.6 + 0.0) / 3 + 0.8) / 2


@pytest.fixture
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A chdb store with three copies of one NVDA story and one other NVDA story, in one minute."""
    for name in ("FINSENT_STORE_URL", "FINSENT_MODEL", "FINSENT_MODEL_REGISTRY_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FINSENT_DATA_DIR", str(tmp_path))
    at = (datetime.now(UTC) - timedelta(minutes=5)).replace(second=0, microsecond=0)
    documents = [
        DocumentRow(doc_id=doc_id, kind="news", source="wire", event_time=at, ingested_at=at, headline=doc_id, body="",
                    url="", author_hash="", symbols=["NVDA"], content_hash=doc_id, topic="Earnings",
                    topic_confidence=0.9, sentiment=-1 if score < 0 else int(score > 0), p_negative=0.0,
                    p_neutral=0.0, p_positive=0.0, score=score, model_version="m", story_id=doc_id[:2])
        for doc_id, score in SCORES.items()
    ]  # fmt: skip
    with open_store(f"chdb://{tmp_path / 'chdb'}") as store:
        store.init_schema()
        store.insert_documents(documents)
    return tmp_path


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def run_json(*args: str) -> list[dict]:
    return json.loads(run(*args, "--format", "json"))


def test_series_listings_and_movers_count_stories_unless_asked_for_documents(store_dir: Path) -> None:
    (point,) = run_json("query", "sentiment", "--symbol", "nvda", "--since", "1h", "--interval", "1h")
    assert (point["stories"], point["docs"], point["mean_score"]) == (2, 4, pytest.approx(STORY_MEAN))
    (point,) = run_json("query", "sentiment", "--symbol", "nvda", "--since", "1h", "--interval", "1h",
                        "--count", "documents")  # fmt: skip
    assert "stories" not in point and point["docs"] == 4
    assert point["mean_score"] == pytest.approx(sum(SCORES.values()) / 4)
    (listed,) = run_json("query", "symbols", "--since", "1h")
    assert (listed["name"], listed["stories"], listed["docs"]) == ("NVDA", 2, 4)
    (mover,) = run_json("query", "movers", "--min-docs", "1", "--window", "1h")
    assert (mover["stories"], mover["docs"], mover["baseline_stories"]) == (2, 4, 0)
    assert run("query", "topics", "--since", "1h").splitlines()[0].split()[:3] == ["name", "stories", "docs"]


def test_an_unknown_count_is_a_usage_error(store_dir: Path) -> None:
    result = CliRunner().invoke(main, ["query", "sentiment", "--count", "copies"])
    assert result.exit_code == 2 and "'copies' is not one of 'stories', 'documents'" in result.output
