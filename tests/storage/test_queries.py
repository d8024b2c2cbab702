"""History queries (``finsent query``) on both backends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import orjson
import pytest

from schemas import DocumentRow
from storage import Store
from storage.queries import latest_documents, sentiment_series, sentiment_series_json

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


def test_latest_documents_filters_and_orders(history: Store) -> None:
    rows = latest_documents(history, symbol="NVDA", sentiment="negative")
    assert [r["headline"] for r in rows] == ["headline d2", "headline d1"]
    assert latest_documents(history, topic="Macro")[0]["symbols"] == []
    assert len(latest_documents(history, limit=2)) == 2
    assert latest_documents(history, symbol="NVDA' OR '1'='1") == []
