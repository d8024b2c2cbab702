"""Sentiment series and stored documents."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, HTTPException, Query, Response

from api.deps import (
    ERRORS,
    From,
    ReadKey,
    Sentiment,
    StoreDep,
    Symbol,
    To,
    Topic,
    decode_cursor,
    encode_cursor,
    interval_seconds,
    time_range,
)
from schemas.api import MAX_DOCUMENTS_PAGE, Activity, DocumentOut, DocumentPage, SentimentSeries
from schemas.durations import DURATION_PATTERN
from storage.queries import activity, documents_page, sentiment_series_json

router = APIRouter(tags=["history"])

MAX_POINTS = 50_000
"""A sentiment series longer than this many intervals is refused (pick a longer interval)."""


@router.get("/v1/sentiment", responses=ERRORS, response_model=SentimentSeries)
def sentiment(
    key: ReadKey,
    store: StoreDep,
    symbol: Symbol = None,
    topic: Topic = None,
    start: From = None,
    end: To = None,
    interval: Annotated[
        str, Query(pattern=DURATION_PATTERN, description="whole minutes, 1m to 1d, e.g. 5m, 1h")
    ] = "1m",
) -> Response:
    """Documents, mean score and negative/positive counts per interval, for one symbol or one topic."""
    if (symbol is None) == (topic is None):
        raise HTTPException(422, "give exactly one of symbol or topic")
    step = interval_seconds(interval)
    start, end = time_range(start, end)
    if (end - start).total_seconds() / step > MAX_POINTS:
        raise HTTPException(422, f"more than {MAX_POINTS} intervals: use a longer interval or a shorter range")
    symbol = symbol.upper() if symbol else None
    points = sentiment_series_json(store, symbol=symbol, topic=topic, start=start, end=end, interval_s=step)
    # A month of minutes is 43,200 points: ClickHouse writes them as JSON and they pass through
    # untouched (no Python object per point); tests check the result against SentimentSeries.
    series = {"symbol": symbol, "topic": topic, "interval_s": step, "points": orjson.Fragment(points)}
    return Response(orjson.dumps(series), media_type="application/json")


@router.get("/v1/documents", responses=ERRORS)
def documents(
    key: ReadKey,
    store: StoreDep,
    symbol: Symbol = None,
    topic: Topic = None,
    sentiment: Sentiment | None = None,
    start: From = None,
    end: To = None,
    limit: Annotated[int, Query(ge=1, le=MAX_DOCUMENTS_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> DocumentPage:
    """Stored documents, newest first, one page at a time."""
    start, end = time_range(start, end)
    rows = documents_page(
        store,
        symbol=symbol,
        topic=topic,
        sentiment=sentiment,
        start=start,
        end=end,
        limit=limit,
        before=decode_cursor(cursor) if cursor else None,
    )
    page = [DocumentOut(**row) for row in rows]
    next_cursor = encode_cursor(page[-1].time, page[-1].doc_id) if len(page) == limit else None
    return DocumentPage(documents=page, next_cursor=next_cursor)


@router.get("/v1/symbols", responses=ERRORS)
def symbols(
    key: ReadKey, store: StoreDep, start: From = None, end: To = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[Activity]:
    """Symbols with documents in the range (default: the last 24 hours), the busiest first."""
    start, end = time_range(start, end)
    return [Activity(**row) for row in activity(store, "symbol", start=start, end=end, limit=limit)]


@router.get("/v1/topics", responses=ERRORS)
def topics(
    key: ReadKey, store: StoreDep, start: From = None, end: To = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[Activity]:
    """Topics with documents in the range (default: the last 24 hours), the busiest first."""
    start, end = time_range(start, end)
    return [Activity(**row) for row in activity(store, "topic", start=start, end=end, limit=limit)]
