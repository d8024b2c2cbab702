"""History queries (``finsent query``) on both backends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import orjson
import pytest

from schemas import DocumentRow
from schemas.records import DeadLetterRow
from storage import Store
from storage.exceptions import InvalidQuery
from storage.queries import (
    activity,
    dead_letter_reasons,
    documents_page,
    latest_dead_letters,
    sentiment_series,
    sentiment_series_json,
    top_movers,
)

from .conftest import T0


@pytest.fixture
def history(store: Store, make_document: Callable[..., DocumentRow]) -> Store:
    documents = [
        make_document("d1", symbols=["NVDA"], score=-0.8, sentiment=-1, event_time=T0),
        make_document("d2", symbols=["NVDA", "AMD"], score=-0.4, sentiment=-1, event_time=T0 + timedelta(seconds=30)),
        make_document("d3", symbols=["NVDA"], score=0.6, sentiment=1, event_time=T0 + timedelta(minutes=3)),
        make_document("d4", symbols=[], topic="Macro", score=0.0, sentiment=0, event_time=T0 + timedelta(minutes=4)),
    ]
    store.insert_documents(documents)
    return store


def test_series_buckets_the_minute_rollups(history: Store) -> None:
    rows = sentiment_series(
        history, symbol="NVDA", start=T0 - timedelta(hours=1), end=T0 + timedelta(hours=1), interval_s=120
    )
    assert [r["docs"] for r in rows] == [2, 1]
    assert rows[0]["mean_score"] == pytest.approx(-0.6)
    assert (rows[0]["negatives"], rows[1]["positives"]) == (2, 1)
    assert rows[0]["time"] == T0.replace(minute=T0.minute - T0.minute % 2, second=0)


@pytest.mark.parametrize("interval_s", [60, 120])
def test_series_as_json_is_the_same_series(history: Store, interval_s: int) -> None:
    span = {"start": T0 - timedelta(hours=1), "end": T0 + timedelta(hours=1), "interval_s": interval_s}
    rows = sentiment_series(history, symbol="NVDA", **span)
    as_json = [row | {"time": row["time"].isoformat().replace("+00:00", "Z")} for row in rows]
    assert orjson.loads(sentiment_series_json(history, symbol="NVDA", **span)) == as_json
    assert orjson.loads(sentiment_series_json(history, symbol="NONE", **span)) == []


def test_series_by_topic_counts_documents_without_symbols(history: Store) -> None:
    rows = sentiment_series(history, topic="Macro", start=T0, end=T0 + timedelta(hours=1))
    assert [r["docs"] for r in rows] == [1]


def test_series_takes_at_most_one_key_and_whole_minutes(history: Store) -> None:
    with pytest.raises(ValueError, match="not both"):
        sentiment_series(history, symbol="NVDA", topic="Macro", start=T0, end=T0)
    with pytest.raises(ValueError, match="whole number of minutes"):
        sentiment_series(history, symbol="NVDA", start=T0, end=T0, interval_s=30)


def test_documents_filter_and_order(history: Store) -> None:
    span = {"start": T0 - timedelta(hours=1), "end": T0 + timedelta(hours=1)}
    rows = documents_page(history, symbol="nvda", sentiment="negative", **span)
    assert [r["headline"] for r in rows] == ["headline d2", "headline d1"]
    assert {r["sentiment"] for r in rows} == {"negative"}
    assert documents_page(history, topic="MACRO", **span)[0]["symbols"] == []
    assert len(documents_page(history, limit=2, **span)) == 2
    assert documents_page(history, symbol="NVDA' OR '1'='1", **span) == []


def test_symbols_and_topics_are_listed_busiest_first(history: Store) -> None:
    span = {"start": T0 - timedelta(hours=1), "end": T0 + timedelta(hours=1)}
    assert [(r["name"], r["docs"]) for r in activity(history, "symbol", **span)] == [("NVDA", 3), ("AMD", 1)]
    assert "Macro" in [r["name"] for r in activity(history, "topic", **span)]
    assert activity(history, "symbol", start=T0 + timedelta(hours=2), end=T0 + timedelta(hours=3)) == []


def test_topics_match_in_any_case(history: Store) -> None:
    span = {"start": T0 - timedelta(hours=1), "end": T0 + timedelta(hours=1)}
    assert sentiment_series(history, topic="macro", **span) == sentiment_series(history, topic="Macro", **span)
    assert sentiment_series(history, topic="macro", **span)


def test_the_market_series_counts_every_document_once(history: Store) -> None:
    span = {"start": T0 - timedelta(hours=1), "end": T0 + timedelta(hours=1), "interval_s": 3_600}
    (market,) = sentiment_series(history, **span)
    assert market["docs"] == 4 and market["mean_score"] == pytest.approx((-0.8 - 0.4 + 0.6 + 0.0) / 4)


def test_top_movers_compare_the_window_with_its_baseline(
    store: Store, make_document: Callable[..., DocumentRow]
) -> None:
    before, now = T0 - timedelta(hours=3), T0 + timedelta(minutes=10)
    rows = [
        make_document(f"b{i}", symbols=["NVDA"], score=0.5, event_time=before + timedelta(minutes=i)) for i in range(6)
    ]
    rows += [
        make_document(f"n{i}", symbols=["NVDA"], score=-0.5, event_time=now + timedelta(minutes=i)) for i in range(6)
    ]
    rows += [
        make_document(f"a{i}", symbols=["AMD"], score=0.1, event_time=now + timedelta(minutes=i)) for i in range(6)
    ]
    rows += [make_document("q1", symbols=["QUIET"], score=-1.0, event_time=now)]
    store.insert_documents(rows)
    movers = top_movers(store, "symbol", start=T0, end=T0 + timedelta(hours=1), baseline_start=T0 - timedelta(hours=24))
    assert [row["name"] for row in movers] == ["NVDA", "AMD"]  # QUIET has fewer than 5 documents
    nvda, amd = movers
    assert nvda["score_change"] == pytest.approx(-1.0) and nvda["volume_ratio"] == pytest.approx(24.0)
    assert amd["baseline_score"] is None and amd["score_change"] is None


@pytest.fixture
def copies(store: Store, make_document: Callable[..., DocumentRow]) -> Store:
    """Three copies of one NVDA story in one bucket (scores -0.9, -0.6, 0.0: two negative of three),
    another NVDA story (0.8, positive), and one document of a later bucket."""
    documents = [
        make_document("s1", symbols=["NVDA"], topic="Deals", score=-0.9, sentiment=-1, event_time=T0),
        make_document("s1-a", symbols=["NVDA"], topic="Deals", score=-0.6, sentiment=-1, story_id="s1",
                      event_time=T0 + timedelta(seconds=20)),
        make_document("s1-b", symbols=["NVDA"], topic="Deals", score=0.0, sentiment=0, story_id="s1",
                      event_time=T0 + timedelta(minutes=1)),
        make_document("o1", symbols=["NVDA"], topic="Deals", score=0.8, sentiment=1,
                      event_time=T0 + timedelta(minutes=1)),
        make_document("l1", symbols=["NVDA"], topic="Deals", score=0.4, sentiment=1,
                      event_time=T0 + timedelta(minutes=5)),
    ]  # fmt: skip
    store.insert_documents(documents)
    return store


STORY_SPAN = {"start": T0 - timedelta(minutes=2), "end": T0 + timedelta(minutes=8), "interval_s": 240}
STORY_MEAN = ((-0.9 - 0.6 + 0.0) / 3 + 0.8) / 2


@pytest.mark.parametrize("scope", [{"symbol": "nvda"}, {"topic": "deals"}, {}])
def test_a_series_counts_a_storys_copies_once_and_averages_per_story(copies: Store, scope: dict[str, str]) -> None:
    first, later = sentiment_series(copies, **scope, **STORY_SPAN)
    assert (first["stories"], first["docs"]) == (2, 4)
    assert first["mean_score"] == pytest.approx(STORY_MEAN)
    assert (first["negatives"], first["positives"]) == (1, 1)  # stories most of whose copies are negative/positive
    assert (later["stories"], later["docs"], later["mean_score"]) == (1, 1, pytest.approx(0.4))
    documents, _ = sentiment_series(copies, **scope, **STORY_SPAN, count="documents")
    assert "stories" not in documents and documents["docs"] == 4
    assert documents["mean_score"] == pytest.approx((-0.9 - 0.6 + 0.0 + 0.8) / 4)
    assert (documents["negatives"], documents["positives"]) == (2, 1)
    as_json = orjson.loads(sentiment_series_json(copies, **scope, **STORY_SPAN))
    assert [point["stories"] for point in as_json] == [2, 1]


def test_a_story_split_across_buckets_counts_once_in_each(copies: Store) -> None:
    rows = sentiment_series(copies, symbol="NVDA", **STORY_SPAN | {"interval_s": 60})
    assert [(r["stories"], r["docs"]) for r in rows] == [(1, 2), (2, 2), (1, 1)]


def test_min_relevance_keeps_the_relevant_copies_of_a_story(
    store: Store, make_document: Callable[..., DocumentRow]
) -> None:
    store.insert_documents([
        make_document("r1", symbols=["NVDA"], relevances=[90], score=-0.5),
        make_document("r2", symbols=["NVDA"], relevances=[20], score=0.5, story_id="r1"),
        make_document("r3", symbols=["NVDA"], relevances=[95], score=0.7),
    ])  # fmt: skip
    (point,) = sentiment_series(store, symbol="NVDA", min_relevance=50, **STORY_SPAN)
    assert (point["stories"], point["docs"], point["mean_score"]) == (2, 2, pytest.approx(0.1))
    (listed,) = activity(store, "symbol", start=STORY_SPAN["start"], end=STORY_SPAN["end"], min_relevance=50)
    assert (listed["stories"], listed["docs"]) == (2, 2)


def test_listings_and_movers_count_stories_or_documents(copies: Store) -> None:
    span = {"start": T0 - timedelta(hours=1), "end": T0 + timedelta(hours=1)}
    (nvda,) = activity(copies, "symbol", **span)
    assert (nvda["stories"], nvda["docs"]) == (3, 5)
    assert nvda["mean_score"] == pytest.approx(((-0.9 - 0.6 + 0.0) / 3 + 0.8 + 0.4) / 3)
    (deals,) = activity(copies, "topic", **span, count="documents")
    assert deals == {"name": "Deals", "docs": 5, "mean_score": pytest.approx((-0.9 - 0.6 + 0.0 + 0.8 + 0.4) / 5)}
    window = {"start": T0 - timedelta(minutes=1), "end": T0 + timedelta(hours=1)}
    (mover,) = top_movers(copies, "symbol", **window, baseline_start=T0 - timedelta(hours=1))
    assert (mover["stories"], mover["docs"], mover["baseline_stories"], mover["volume_ratio"]) == (3, 5, 0, None)
    with pytest.raises(InvalidQuery, match="count must be one of stories, documents"):
        activity(copies, "symbol", **span, count="copies")


def test_dead_letters_by_reason_and_latest(store: Store) -> None:
    def letter(offset: int, error: str) -> DeadLetterRow:
        return DeadLetterRow(topic="finsent.news", partition=0, offset=offset, error=error, raw_preview="{",
                             raw_bytes=1, failed_at=T0 + timedelta(seconds=offset))  # fmt: skip

    store.insert_dead_letters([letter(1, "invalid JSON: line 1"), letter(2, "invalid JSON: line 3"),
                               letter(3, "invalid news: headline: too short")])  # fmt: skip
    span = {"start": T0, "end": T0 + timedelta(hours=1)}
    reasons = dead_letter_reasons(store, **span)
    assert [(row["reason"], row["messages"]) for row in reasons] == [("invalid JSON", 2), ("invalid news", 1)]
    assert [row["offset"] for row in latest_dead_letters(store, limit=2, **span)] == [3, 2]
