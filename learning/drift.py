"""Drift watch: is the live class mix still the one the active model showed on its validation split?"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from models.artifact import resolve_model_dir
from models.exceptions import ModelError
from models.follow import ModelSource
from models.labels import SENTIMENT_CLASSES
from models.reference import validation_class_mix
from schemas.drift import population_stability_index
from storage import Store
from storage.learning import active_version, prediction_mix


def reference_mix(store: Store, configured_model: str | None) -> tuple[str, dict[str, int] | None]:
    """The serving model (the registry's active version, else the configured one) and its validation mix."""
    active = active_version(store)
    if active is not None:
        return active.version, validation_class_mix(Path(active.path))
    try:
        directory = resolve_model_dir(configured_model)
    except ModelError:
        return str(configured_model), None
    return directory.name, validation_class_mix(directory)


def drift_report(store: Store, configured_model: str | None, *, start: datetime, end: datetime) -> dict[str, Any]:
    """Per hour and source, the predicted class shares, confidence, and PSI against the model's reference."""
    model, reference = reference_mix(store, configured_model)
    rows = prediction_mix(store, start=start, end=end)
    for row in rows:
        counts = (row["negatives"], row["neutrals"], row["positives"])
        row["psi"] = (
            round(population_stability_index(counts, [reference[name] for name in SENTIMENT_CLASSES]), 4)
            if reference
            else None
        )
    return {"model": model, "reference": reference, "rows": rows}


def serving_reference(models: ModelSource) -> Callable[[], tuple[int, int, int] | None]:
    """The validation class mix (negatives, neutrals, positives) of whichever model serves now.

    For ``model_psi`` alert rules; read once per model directory, and None for a model without one.
    """

    @lru_cache(maxsize=8)
    def mix_of(directory: Path | None) -> tuple[int, int, int] | None:
        found = validation_class_mix(directory) if directory is not None else None
        return (found["negative"], found["neutral"], found["positive"]) if found else None

    return lambda: mix_of(getattr(models.current(), "directory", None))
