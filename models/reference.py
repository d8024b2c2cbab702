"""What a model predicted on its validation split: the reference its live predictions are compared with."""

from __future__ import annotations

import json
from pathlib import Path


def validation_class_mix(directory: Path) -> dict[str, int] | None:
    """Predicted sentiment counts per class on the model's validation split (from its metrics.json), or None."""
    try:
        sentiment = json.loads((directory / "metrics.json").read_text())["validation"]["sentiment"]
        classes, confusion = sentiment["classes"], sentiment["confusion"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return {name: int(sum(row[column] for row in confusion)) for column, name in enumerate(classes)}
