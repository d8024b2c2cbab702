"""History queries (``finsent query``) on both backends."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import orjson
import pytest

from schemas import DocumentRow
from schemas.records import DeadLetterRow
from storage import Store
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
