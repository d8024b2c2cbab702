"""History queries (``finsent query``) on both backends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import orjson
import pytest

from schemas import DocumentRow
from storage import Store
from storage.queries import activity, documents_page, sentiment_series, sentiment_series_json

from .conftest import T0


@pytest.fixture
def history(store: Store, make_document: Callable[..., DocumentRow]) -> Store:
    documents = [
        make_document("d1", symbols=["NVDA"], score=-0.8, sentiment=-1, event_time=T0),
        make_document("d2", symbols=["NVDA", "AMD"], score=-0.4, sentiment=-1, event_time=T0 + timedelta(seconds=30)),
        make_document("d3", symbols=["NVDA"], score=0.6, sentiment=1, event_time=T0 + timedelta(minutes=3)),
        make_document("d4", symbols=[], topic="Macro", score=0.0, sentiment=0, event_time=T0 + timedelta(minutes=4)),
    ]
    store.write_batch([], documents)
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


def test_series_needs_exactly_one_key_and_whole_minutes(history: Store) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        sentiment_series(history, start=T0, end=T0)
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
