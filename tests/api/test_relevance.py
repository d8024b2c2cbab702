"""Per-symbol sentiment and the ``min_relevance`` filter in the HTTP API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import ClassifierSource
from schemas import DocumentRow, ScoreRecord
from schemas.api import SentimentSeries
from storage import Store
from tests.api.conftest import auth
from tests.dashboards.seed import NOW

AT = NOW - timedelta(minutes=10)
# One story: good for FZ (about it), bad for GZ (named beside it); the seed names neither.
STORY = DocumentRow(
    doc_id="fz-gz", kind="news", source="wire", event_time=AT, ingested_at=AT, headline="FZ beats while GZ misses",
    body="", url="", author_hash="", symbols=["FZ", "GZ"], content_hash="fz-gz", topic="Earnings",
    topic_confidence=0.9, sentiment=1, p_negative=0.02, p_neutral=0.03, p_positive=0.95, score=0.93,
    model_version="m", symbol_sentiments=[1, -1], symbol_scores=[0.9, -0.8], symbol_sources=["mention", "mention"],
    relevances=[90, 60],
)  # fmt: skip


@pytest.fixture(scope="module")
def classifier_source() -> ClassifierSource:
    """No model: these routes never classify (and no tiny model is trained for them)."""
    return ClassifierSource(lambda: pytest.fail("the history routes must not load a classifier"))


@pytest.fixture(scope="module")
def story(api_store: Store) -> Store:
    scores = [
        ScoreRecord(
            **STORY.model_dump(include=set(ScoreRecord.model_fields)),
            symbol=symbol,
            symbol_sentiment=STORY.symbol_sentiments[at],
            symbol_score=STORY.symbol_scores[at],
            symbol_source=STORY.symbol_sources[at],
            relevance=STORY.relevances[at],
        )
        for at, symbol in enumerate(STORY.symbols)
    ]
    api_store.insert_scores(scores)
    api_store.insert_documents([STORY])
    return api_store


def test_a_symbols_series_documents_and_movers_read_its_own_sentiment_and_filter_by_relevance(
    client: TestClient, keys: dict[str, str], story: Store
) -> None:
    read = auth(keys["read"])
    since = {"from": (AT - timedelta(hours=1)).isoformat(), "interval": "1h"}
    for min_relevance in (0, 50):
        answer = client.get(
            "/v1/sentiment", params=since | {"symbol": "gz", "min_relevance": min_relevance}, headers=read
        )
        assert answer.status_code == 200, answer.text
        (point,) = SentimentSeries.model_validate_json(answer.content).points
        assert (point.docs, point.negatives, point.mean_score) == (1, 1, pytest.approx(-0.8))
    months = {"from": (AT - timedelta(days=40)).isoformat(), "interval": "1d", "symbol": "GZ", "min_relevance": 50}
    for count in ("stories", "documents"):  # any range: both counts filter the per-symbol rollup
        answer = client.get("/v1/sentiment", params=months | {"count": count}, headers=read)
        assert answer.status_code == 200, answer.text
        assert [p.docs for p in SentimentSeries.model_validate_json(answer.content).points] == [1]
    above = client.get("/v1/sentiment", params=since | {"symbol": "GZ", "min_relevance": 61}, headers=read)
    assert above.status_code == 200 and above.json()["points"] == []
    (document,) = client.get("/v1/documents", params={"symbol": "GZ", "min_relevance": 60}, headers=read).json()[
        "documents"
    ]
    assert (document["sentiment"], document["score"]) == ("positive", pytest.approx(0.93))
    assert (document["symbol"], document["symbol_sentiment"], document["symbol_score"]) == (
        "GZ", "negative", pytest.approx(-0.8))  # fmt: skip
    assert (document["symbol_source"], document["relevance"]) == ("mention", 60)
    plain = client.get("/v1/documents", params={"topic": "Earnings", "limit": 500}, headers=read).json()["documents"]
    assert all(doc["symbol"] is None and doc["relevance"] is None for doc in plain)
    movers = client.get("/v1/movers", params={"min_relevance": 70, "min_docs": 1, "limit": 500}, headers=read)
    assert movers.status_code == 200, movers.text
    names = {row["name"]: row for row in movers.json()}
    assert "FZ" in names and "GZ" not in names and names["FZ"]["mean_score"] == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("/v1/sentiment", {"symbol": "GZ", "min_relevance": 101}, "less than or equal to 100"),
        ("/v1/sentiment", {"symbol": "GZ", "min_relevance": -1}, "greater than or equal to 0"),
        ("/v1/sentiment", {"symbol": "GZ", "min_relevance": "high"}, "valid integer"),
        ("/v1/sentiment", {"symbol": "GZ", "min_relevance": 10**30}, "less than or equal to 100"),
        ("/v1/sentiment", {"topic": "Earnings", "min_relevance": 10}, "symbols only"),
        ("/v1/sentiment", {"min_relevance": 10}, "symbols only"),
        ("/v1/documents", {"min_relevance": 10}, "symbols only"),
        ("/v1/documents", {"symbol": "GZ", "min_relevance": 1000}, "less than or equal to 100"),
        ("/v1/movers", {"kind": "topic", "min_relevance": 10}, "symbols only"),
        ("/v1/movers", {"min_relevance": 100.5}, "valid integer"),
    ],
)
def test_min_relevance_out_of_place_or_range_is_a_422(
    client: TestClient, keys: dict[str, str], path: str, params: dict, message: str
) -> None:
    answer = client.get(path, params=params, headers=auth(keys["read"]))
    assert answer.status_code == 422 and message in answer.text, answer.text
