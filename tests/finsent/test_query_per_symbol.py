"""``finsent query`` with per-symbol sentiment: a symbol's own sentiment and the ``--min-relevance`` filter."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from finsent.cli import main
from schemas import DocumentRow, ScoreRecord
from storage import open_store

pytestmark = pytest.mark.integration


@pytest.fixture
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A chdb store holding "Ford beats while GM misses": good for F (relevance 90), bad for GM (relevance 60)."""
    for name in ("FINSENT_STORE_URL", "FINSENT_MODEL", "FINSENT_MODEL_REGISTRY_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FINSENT_DATA_DIR", str(tmp_path))
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    document = DocumentRow(doc_id="fgm", kind="news", source="wire", event_time=at, ingested_at=at,
                           headline="Ford beats while GM misses", body="", url="", author_hash="", symbols=["F", "GM"],
                           content_hash="h", topic="Earnings", topic_confidence=0.9, sentiment=1, p_negative=0.02,
                           p_neutral=0.03, p_positive=0.95, score=0.93, model_version="m",
                           symbol_sentiments=[1, -1], symbol_scores=[0.9, -0.8], symbol_sources=["mention", "mention"],
                           relevances=[90, 60])  # fmt: skip
    common = document.model_dump(include=set(ScoreRecord.model_fields))
    scores = [ScoreRecord(**common, symbol="F", symbol_sentiment=1, symbol_score=0.9, symbol_source="mention",
                          relevance=90),
              ScoreRecord(**common, symbol="GM", symbol_sentiment=-1, symbol_score=-0.8, symbol_source="mention",
                          relevance=60)]  # fmt: skip
    with open_store(f"chdb://{tmp_path / 'chdb'}") as store:
        store.init_schema()
        store.insert_scores(scores)
        store.insert_documents([document])
    return tmp_path


def run_json(*args: str) -> list[dict]:
    result = CliRunner().invoke(main, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_documents_of_a_symbol_show_its_own_sentiment_beside_the_documents(store_dir: Path) -> None:
    (gm,) = run_json("query", "documents", "--symbol", "gm")
    assert (gm["sentiment"], gm["symbol"], gm["symbol_sentiment"], gm["symbol_source"], gm["relevance"]) == (
        "positive", "GM", "negative", "mention", 60)  # fmt: skip
    assert gm["symbol_score"] == pytest.approx(-0.8)
    assert run_json("query", "documents", "--symbol", "GM", "--min-relevance", "61") == []
    table = CliRunner().invoke(main, ["query", "documents", "--symbol", "GM"], env={"COLUMNS": "200"})
    assert table.exit_code == 0 and "mention" in table.output and "negative" in table.output


def test_series_and_movers_read_each_symbols_sentiment_and_filter_by_relevance(store_dir: Path) -> None:
    (gm,) = run_json("query", "sentiment", "--symbol", "GM", "--since", "1h")
    assert (gm["negatives"], gm["positives"]) == (1, 0) and gm["mean_score"] == pytest.approx(-0.8)
    assert run_json("query", "sentiment", "--symbol", "GM", "--since", "1h", "--min-relevance", "70") == []
    (topic,) = run_json("query", "sentiment", "--topic", "earnings", "--since", "1h")
    assert topic["mean_score"] == pytest.approx(0.93), "a topic keeps the documents' sentiment"
    movers = run_json("query", "movers", "--min-docs", "1", "--min-relevance", "70")
    assert [row["name"] for row in movers] == ["F"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["query", "movers", "--kind", "topic", "--min-relevance", "10"], "symbols only"),
        (["query", "sentiment", "--min-relevance", "10"], "symbols only"),
        (["query", "documents", "--min-relevance", "10"], "needs a symbol"),
        (["query", "movers", "--min-relevance", "101"], "0<=x<=100"),
    ],
)
def test_min_relevance_where_it_means_nothing_is_a_usage_error(store_dir: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and message in result.output, result.output
