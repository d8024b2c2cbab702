"""Ad-hoc classification with the deployment's model."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from api.deps import ERRORS, ClassifierDep, MetricsDep, ReadKey, SettingsDep
from schemas.api import ClassifyRequest, ClassifyResponse, PredictionOut

router = APIRouter(tags=["model"])


@router.post("/v1/classify", responses=ERRORS)
def classify(
    body: ClassifyRequest, key: ReadKey, settings: SettingsDep, model: ClassifierDep, metrics: MetricsDep
) -> ClassifyResponse:
    """Topic and sentiment of each text, in order (one model call for the batch)."""
    if len(body.texts) > settings.api_max_texts:
        raise HTTPException(413, f"at most {settings.api_max_texts} texts per request, got {len(body.texts)}")
    for index, text in enumerate(body.texts):
        if len(text) > settings.api_max_text_chars:
            raise HTTPException(
                413, f"texts[{index}] has {len(text)} characters; the limit is {settings.api_max_text_chars}"
            )
        if not text.strip():
            raise HTTPException(422, f"texts[{index}] is empty or whitespace")
    predictions = model.predict(body.texts)
    metrics.classified.inc(len(predictions))
    return ClassifyResponse(
        model_version=model.model_version,
        predictions=[PredictionOut(**_prediction_fields(p)) for p in predictions],
    )


def _prediction_fields(prediction: Any) -> dict[str, Any]:
    return {name: getattr(prediction, name) for name in PredictionOut.model_fields}
