"""Health and metrics of this API process (no key needed)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import MetricsDep, StoreDep
from schemas.api import Problem

router = APIRouter(tags=["operations"])


@router.get("/healthz", responses={503: {"model": Problem}})
def healthz(store: StoreDep) -> dict[str, str]:
    """200 when the store answers, 503 when it does not; nothing about where it lives (no key needed)."""
    store.ping()
    return {"status": "ok"}


@router.get("/metrics", response_class=Response)
def metrics(metrics: MetricsDep) -> Response:
    """Prometheus metrics of this API process."""
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
