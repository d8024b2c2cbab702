"""Stories: the documents of a range grouped by story, most copies first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import ERRORS, ReadKey, StoreDep, Symbol, TimeRange
from schemas.stories import StoryOut
from storage.stories import MAX_STORIES, top_stories

router = APIRouter(tags=["history"])


@router.get("/v1/stories", responses=ERRORS)
def stories(
    key: ReadKey,
    store: StoreDep,
    span: TimeRange,
    symbol: Symbol = None,
    limit: Annotated[int, Query(ge=1, le=MAX_STORIES)] = 20,
) -> list[StoryOut]:
    """Stories with documents in the range (default: the last 24 hours), most copies first: the first
    headline, when it was first seen, copies, sources, and sentiment averaged over the copies."""
    start, end = span
    return [StoryOut(**row) for row in top_stories(store, symbol=symbol, start=start, end=end, limit=limit)]
