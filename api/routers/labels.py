"""The learning loop's routes: people's corrections (labels), what to label next, and drift watch."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query

from api.deps import ERRORS, ReadKey, SettingsDep, StoreDep, TimeRange, WriteKey
from learning.drift import drift_report
from learning.exceptions import LearningError
from learning.labels import UnknownDocument, record_label
from schemas.api import Problem
from schemas.learning import LabelRequest, LabelRow
from storage.learning import (
    label_disagreements,
    latest_labels,
    review_candidates,
    shadow_agreement,
    shadow_disagreements,
)

router = APIRouter(tags=["learning"])
NEW_WITHIN = timedelta(days=7)
"""A source or symbol first seen within this span counts as new for the review queue."""


@router.post("/v1/labels", responses=ERRORS | {404: {"model": Problem}})
def add_label(body: LabelRequest, key: WriteKey, store: StoreDep) -> list[LabelRow]:
    """Correct a stored document's sentiment, topic or both; the latest label of each key counts."""
    try:
        return record_label(store, body.doc_id, sentiment=body.sentiment, topic=body.topic, labeller=key.key_id)
    except UnknownDocument as exc:
        raise HTTPException(404, str(exc)) from None
    except LearningError as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/v1/labels", responses=ERRORS)
def labels(
    key: ReadKey,
    store: StoreDep,
    task: Literal["sentiment", "topic"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, list[dict[str, Any]]]:
    """The latest label of each labeller per document (with what the model said), and where labellers disagree."""
    return {"labels": latest_labels(store, task=task, limit=limit), "disagreements": label_disagreements(store, limit)}


@router.get("/v1/review", responses=ERRORS)
def review(
    key: ReadKey, store: StoreDep, span: TimeRange, limit: Annotated[int, Query(ge=1, le=500)] = 30
) -> list[dict[str, Any]]:
    """Unlabelled documents most worth a person's time: new sources and symbols, then the least confident,
    balanced across the predicted classes."""
    start, end = span
    return review_candidates(store, start=start, end=end, limit=limit, new_since=end - NEW_WITHIN)


@router.get("/v1/drift", responses=ERRORS)
def drift(key: ReadKey, store: StoreDep, settings: SettingsDep, span: TimeRange) -> dict[str, Any]:
    """Per hour and source: the predicted class mix, mean confidence, the low-confidence share, and the
    population stability index against the serving model's validation mix (above 0.25: a large shift)."""
    start, end = span
    return drift_report(store, settings.model, start=start, end=end)


@router.get("/v1/shadow", responses=ERRORS)
def shadow(
    key: ReadKey, store: StoreDep, limit: Annotated[int, Query(ge=1, le=500)] = 20
) -> dict[str, list[dict[str, Any]]]:
    """Shadow scoring so far: agreement of each challenger with the model that stored the documents,
    and the documents on which they disagree most."""
    return {"agreement": shadow_agreement(store), "disagreements": shadow_disagreements(store, limit)}
