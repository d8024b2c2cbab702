"""Ad-hoc classification with the deployment's model."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from api.deps import ERRORS, ClassifierDep, MetricsDep, ReadKey, SettingsDep, charge_characters
from api.exceptions import ClientGone
from config.components import ApiSettings
from schemas.api import ClassifyRequest, ClassifyResponse, PredictionOut

router = APIRouter(tags=["model"])

CHUNK_TEXTS = 16
"""Texts classified between two checks that the client is still there."""


@router.post("/v1/classify", responses=ERRORS)
async def classify(
    request: Request,
    body: ClassifyRequest,
    key: ReadKey,
    settings: SettingsDep,
    model: ClassifierDep,
    metrics: MetricsDep,
) -> ClassifyResponse:
    """Topic and sentiment of each text, in order.

    Bounded cost: at most ``max_texts`` texts of ``max_text_chars`` each and ``max_request_chars``
    in all (413), a per-key budget of characters per minute (429), and long texts scored on the
    classifier's capped windows. Work stops when the client disconnects.
    """
    charge_characters(request, key, check_texts(body.texts, settings))
    try:
        predictions = await predict_while_connected(model.predict, body.texts, request.is_disconnected)
    except ClientGone:
        raise HTTPException(499, "the client closed the request") from None
    metrics.classified.inc(len(predictions))
    return ClassifyResponse(
        model_version=model.model_version,
        predictions=[PredictionOut(**_prediction_fields(p)) for p in predictions],
    )


def check_texts(texts: Sequence[str], settings: ApiSettings) -> int:
    """The texts' characters in all; 413 for too many or too long texts, 422 for blank ones."""
    if len(texts) > settings.max_texts:
        raise HTTPException(413, f"at most {settings.max_texts} texts per request, got {len(texts)}")
    for index, text in enumerate(texts):
        if len(text) > settings.max_text_chars:
            raise HTTPException(
                413, f"texts[{index}] has {len(text)} characters; the limit is {settings.max_text_chars}"
            )
        if not text.strip():
            raise HTTPException(422, f"texts[{index}] is empty or whitespace")
    total = sum(len(text) for text in texts)
    if total > settings.max_request_chars:
        raise HTTPException(413, f"{total} characters in all; a request may carry at most {settings.max_request_chars}")
    return total


async def predict_while_connected(
    predict: Callable[[list[str]], list[Any]], texts: Sequence[str], disconnected: Callable[[], Awaitable[bool]]
) -> list[Any]:
    """``predict`` over ``texts`` in chunks off the event loop, stopping (ClientGone) once the client is gone."""
    predictions: list[Any] = []
    for start in range(0, len(texts), CHUNK_TEXTS):
        if await disconnected():
            raise ClientGone
        predictions.extend(await run_in_threadpool(predict, list(texts[start : start + CHUNK_TEXTS])))
    return predictions


def _prediction_fields(prediction: Any) -> dict[str, Any]:
    return {name: getattr(prediction, name) for name in PredictionOut.model_fields}
