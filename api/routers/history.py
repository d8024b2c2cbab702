"""Sentiment series and stored documents."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, HTTPException, Query, Response

from api.deps import (
    ERRORS,
    AdminKey,
    CountBy,
    MinRelevance,
    ReadKey,
    ScopeQuery,
    Sentiment,
    StoreDep,
    TimeRange,
    decode_cursor,
    encode_cursor,
    interval_seconds,
    relevance_filter,
    span_seconds,
)
from schemas.api import (
    MAX_DOCUMENTS_PAGE,
    Activity,
    DeadLetters,
    DocumentOut,
    DocumentPage,
    Mover,
    SentimentSeries,
)
from schemas.durations import DURATION_PATTERN, end_of_now
from storage.queries import (
    activity,
    dead_letter_reasons,
    documents_page,
    latest_dead_letters,
    sentiment_series_json,
    top_movers,
)

router = APIRouter(tags=["history"])

MAX_POINTS = 50_000
"""A sentiment series longer than this many intervals is refused (pick a longer interval)."""


@router.get("/v1/sentiment", responses=ERRORS, response_model=SentimentSeries)
def sentiment(
    key: ReadKey,
    store: StoreDep,
    scope: ScopeQuery,
    interval: Annotated[
        str, Query(pattern=DURATION_PATTERN, description="whole minutes, 1m to 1d, e.g. 5m, 1h")
    ] = "1m",
    min_relevance: MinRelevance = 0,
    count: CountBy = "stories",
) -> Response:
    """Stories (``count=stories``, the default) and documents, mean score and negative/positive counts
    per interval, for one symbol (the text's sentiment toward it), one topic, or (neither given) the
    whole market (the documents' sentiment)."""
    symbol, topic, start, end = scope.get("symbol"), scope.get("topic"), scope["start"], scope["end"]
    if symbol is not None and topic is not None:
        raise HTTPException(422, "give one of symbol or topic, not both (neither: the whole market)")
    step = interval_seconds(interval)
    if (end - start).total_seconds() / step > MAX_POINTS:
        raise HTTPException(422, f"more than {MAX_POINTS} intervals: use a longer interval or a shorter range")
    relevance_filter(min_relevance, per_symbol=symbol is not None)
    symbol = symbol.upper() if symbol else None
    points = sentiment_series_json(store, symbol=symbol, topic=topic, start=start, end=end, interval_s=step,
                                   min_relevance=min_relevance, count=count)  # fmt: skip
    # A month of minutes is 43,200 points: ClickHouse writes them as JSON and they pass through
    # untouched (no Python object per point); tests check the result against SentimentSeries.
    series = {"symbol": symbol, "topic": topic, "interval_s": step, "points": orjson.Fragment(points)}
    return Response(orjson.dumps(series), media_type="application/json")


@router.get("/v1/documents", responses=ERRORS)
def documents(
    key: ReadKey,
    store: StoreDep,
    scope: ScopeQuery,
    sentiment: Sentiment | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_DOCUMENTS_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    min_relevance: MinRelevance = 0,
) -> DocumentPage:
    """Stored documents, newest first, one page at a time; with a symbol, each also carries that
    symbol's sentiment, score, their source (``mention`` or ``document``) and its relevance."""
    per_symbol = scope.get("symbol") is not None
    relevance_filter(min_relevance, per_symbol=per_symbol)
    before = decode_cursor(cursor) if cursor else None
    rows = documents_page(store, sentiment=sentiment, limit=limit, before=before, min_relevance=min_relevance, **scope)
    page = [DocumentOut(**row) for row in rows]
    next_cursor = encode_cursor(page[-1].time, page[-1].doc_id) if len(page) == limit else None
    return DocumentPage(documents=page, next_cursor=next_cursor)


ActivityLimit = Annotated[int, Query(ge=1, le=1000)]


def _add_activity_route(kind: str, plural: str) -> None:
    """``GET /v1/{plural}``: the symbols or topics with documents in a range, the busiest first."""

    def busiest(
        key: ReadKey, store: StoreDep, span: TimeRange, limit: ActivityLimit = 100, count: CountBy = "stories"
    ) -> list[Activity]:
        start, end = span
        return [Activity(**row) for row in activity(store, kind, start=start, end=end, limit=limit, count=count)]

    busiest.__doc__ = (
        f"{plural.capitalize()} with documents in the range (default: the last 24 hours), the busiest first"
        " (by stories, or with count=documents by documents)."
    )
    router.get(f"/v1/{plural}", responses=ERRORS, name=plural)(busiest)


for _kind, _plural in (("symbol", "symbols"), ("topic", "topics")):
    _add_activity_route(_kind, _plural)


@router.get("/v1/movers", responses=ERRORS)
def movers(
    key: ReadKey,
    store: StoreDep,
    kind: Annotated[Literal["symbol", "topic"], Query(description="rank symbols or topics")] = "symbol",
    window: Annotated[str, Query(pattern=DURATION_PATTERN, description="the recent span, e.g. 1h")] = "1h",
    baseline: Annotated[
        str, Query(pattern=DURATION_PATTERN, description="the trailing span before it, e.g. 24h")
    ] = "24h",
    min_docs: Annotated[int, Query(ge=1, le=100_000)] = 5,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
    min_relevance: MinRelevance = 0,
    count: CountBy = "stories",
) -> list[Mover]:
    """Top movers: the largest change of mean score in the window against the baseline before it, with volumes
    (symbols by the text's sentiment toward each)."""
    window_s, baseline_s = span_seconds("window", window), span_seconds("baseline", baseline)
    end = end_of_now()
    start = end - timedelta(seconds=window_s)
    baseline_start = start - timedelta(seconds=baseline_s)
    relevance_filter(min_relevance, per_symbol=kind == "symbol")
    rows = top_movers(store, kind, start=start, end=end, baseline_start=baseline_start, min_docs=min_docs,
                      limit=limit, min_relevance=min_relevance, count=count)  # fmt: skip
    return [Mover(**row) for row in rows]


@router.get("/v1/dead-letters", responses=ERRORS)
def dead_letters(
    key: AdminKey, store: StoreDep, span: TimeRange, limit: Annotated[int, Query(ge=1, le=500)] = 20
) -> DeadLetters:
    """Messages refused by the pipeline in the range: counts per reason and the newest (admin: raw previews)."""
    start, end = span
    return DeadLetters.model_validate({
        "reasons": dead_letter_reasons(store, start=start, end=end),
        "latest": latest_dead_letters(store, start=start, end=end, limit=limit),
    })  # fmt: skip
