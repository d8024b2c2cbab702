"""The classifier alone over a benchmark's texts, read by the models a worker would read them with.

A worker started without ``FINSENT_MODEL`` routes news to the teacher (``learning.serving``); its
"model alone" is then the teacher over the news and the student over the rest, not the student
over everything, or the pipeline's efficiency would compare two different workloads.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from config import Settings
from config.routes import DEFAULT_MODEL
from learning.serving import routes_in_force
from schemas import DocumentKind


def routed_texts(texts: Sequence[str], kinds: Sequence[DocumentKind], model: str | None) -> dict[str | None, list[str]]:
    """``texts`` by the model a worker run with ``model`` reads them with (``None``: the served model)."""
    settings = Settings(model=model)
    by_kind = {route.kind: route.model for route in routes_in_force(settings.routing, settings.classifier)
               if route.source is None}  # fmt: skip
    groups: dict[str | None, list[str]] = {}
    for text, kind in zip(texts, kinds, strict=True):
        routed = by_kind.get(kind.value)
        groups.setdefault(model if routed is None or routed == DEFAULT_MODEL else routed, []).append(text)
    return groups


def model_throughput(model: str | None, backend: str, texts: list[str], batch_size: int) -> dict[str, Any]:
    """Docs/s of the bare classifier over ``texts`` in batches of ``batch_size`` (after one warm-up batch)."""
    from models import load_classifier

    classifier = load_classifier(model, backend=backend)
    classifier.predict(texts[:batch_size])
    started = time.perf_counter()
    for start in range(0, len(texts), batch_size):
        classifier.predict(texts[start : start + batch_size])
    seconds = time.perf_counter() - started
    return {"docs_per_s": len(texts) / seconds, "backend": classifier.model_version.rpartition("+")[2]}
