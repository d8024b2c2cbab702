"""``count=stories|documents`` on the series, listings and movers of the HTTP API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import ClassifierSource
from schemas import DocumentRow
from schemas.api import SentimentSeries
from storage import Store
from tests.api.conftest import auth
from tests.dashboards.seed import NOW

AT = (NOW - timedelta(minutes=30)).replace(second=0, microsecond=0)
SCORES = {"cz1": -0.9, "cz1-copy": -0.6, "cz1-rt": 0.0, "cz2": 0.8}


def document(doc_id: str, story_id: str) -> DocumentRow:
    score = SCORES[doc_id]
    return DocumentRow(
        doc_id=doc_id, kind="news", source="wire", event_time=AT, ingested_at=AT, headline=doc_id, body="", url="",
        author_hash="", symbols=["CPZ"], content_hash=doc_id, topic="Earnings", topic_confidence=0.9,
        sentiment=-1 if score < 0 else (1 if score > 0 else 0), p_negative=0.0, p_neutral=0.0, p_positive=0.0,
        score=score, model_version="m", story_id=story_id,
    )  # fmt: skip


@pytest.fixture(scope="module")
def classifier_source() -> ClassifierSource:
    """No model: these routes never classify."""
    return ClassifierSource(lambda: pytest.fail("the history routes must not load a classifier"))


@pytest.fixture(scope="module")
def copies(api_store: Store) -> Store:
    """Three copies of one CPZ story and one other CPZ story, all in one minute."""
    api_store.insert_documents([document(d, "cz1" if d.startswith("cz1") else d) for d in SCORES])
    return api_store


def test_a_series_counts_stories_by_default_and_documents_when_asked(
    client: TestClient, keys: dict[str, str], copies: Store
) -> None:
    params = {"symbol": "cpz", "from": (AT - timedelta(hours=1)).isoformat(), "interval": "1h"}
    by_story = client.get("/v1/sentiment", params=params, headers=auth(keys["read"]))
    assert by_story.status_code == 200, by_story.text
    (point,) = SentimentSeries.model_validate_json(by_story.content).points
    assert (point.stories, point.docs) == (2, 4)
    assert point.mean_score == pytest.approx(((-0.9 - 0.6 + 0.0) / 3 + 0.8) / 2)
    by_document = client.get("/v1/sentiment", params=params | {"count": "documents"}, headers=auth(keys["read"]))
    (point,) = SentimentSeries.model_validate_json(by_document.content).points
    assert (point.stories, point.docs, point.mean_score) == (None, 4, pytest.approx((-0.9 - 0.6 + 0.0 + 0.8) / 4))


def test_listings_and_movers_take_the_count(client: TestClient, keys: dict[str, str], copies: Store) -> None:
    read = auth(keys["read"])
    listed = {row["name"]: row for row in client.get("/v1/symbols", headers=read).json()}
    assert (listed["CPZ"]["stories"], listed["CPZ"]["docs"]) == (2, 4)
    listed = {row["name"]: row for row in client.get("/v1/symbols", params={"count": "documents"}, headers=read).json()}
    assert (listed["CPZ"]["stories"], listed["CPZ"]["docs"]) == (None, 4)
    movers = client.get("/v1/movers", params={"min_docs": 1, "limit": 500}, headers=read)
    assert movers.status_code == 200, movers.text
    (cpz,) = [row for row in movers.json() if row["name"] == "CPZ"]
    assert (cpz["stories"], cpz["docs"]) == (2, 4)


@pytest.mark.parametrize("path", ["/v1/sentiment", "/v1/symbols", "/v1/topics", "/v1/movers"])
@pytest.mark.parametrize("count", ["copies", "", "STORIES", "x" * 10_000])
def test_a_bad_count_is_a_one_line_422(client: TestClient, keys: dict[str, str], path: str, count: str) -> None:
    answer = client.get(path, params={"count": count}, headers=auth(keys["read"]))
    assert answer.status_code == 422, answer.text
    (error,) = answer.json()["detail"]
    assert error["loc"] == ["query", "count"] and "'stories' or 'documents'" in error["msg"]
    assert "\n" not in error["msg"]
