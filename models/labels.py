"""Label maps: how raw dataset labels become the class names the heads predict."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from models.exceptions import ModelConfigError

Task = Literal["sentiment", "topic"]
TASKS: tuple[Task, ...] = ("sentiment", "topic")
"""The classifier's two heads."""
SENTIMENT_CLASSES: tuple[str, ...] = ("negative", "neutral", "positive")
SENTIMENT_VALUES: Mapping[str, int] = {"negative": -1, "neutral": 0, "positive": 1}

TFN_TOPICS: tuple[str, ...] = (
    "Analyst Update",
    "Fed | Central Banks",
    "Company | Product News",
    "Treasuries | Corporate Debt",
    "Dividend",
    "Earnings",
    "Energy | Oil",
    "Financials",
    "Currencies",
    "General News | Opinion",
    "Gold | Metals | Materials",
    "IPO",
    "Legal | Regulation",
    "M&A | Investments",
    "Macro",
    "Markets",
    "Politics",
    "Personnel Change",
    "Stock Commentary",
    "Stock Movement",
)

PRESETS: Mapping[str, Mapping[str, str]] = {
    "tfn-sentiment": {"0": "negative", "1": "positive", "2": "neutral"},
    "tfn-topic": {str(i): name for i, name in enumerate(TFN_TOPICS)},
}


def resolve_label_map(spec: str | Mapping[str, str] | None) -> dict[str, str]:
    """Turn a preset name, a JSON file, inline ``0=a,1=b`` text or a mapping into a label map.

    ``None`` means identity: the raw labels already are the class names.
    """
    if spec is None:
        return {}
    if isinstance(spec, Mapping):
        return {str(k): str(v) for k, v in spec.items()}
    if spec in PRESETS:
        return dict(PRESETS[spec])
    path = Path(spec)
    if path.suffix == ".json" and path.is_file():
        loaded = json.loads(path.read_text())
        if not isinstance(loaded, dict):
            raise ModelConfigError(f"label map file {path} must hold a JSON object")
        return {str(k): str(v) for k, v in loaded.items()}
    if "=" in spec:
        pairs = [item.split("=", 1) for item in spec.split(",") if item.strip()]
        return {k.strip(): v.strip() for k, v in pairs}
    known = ", ".join(sorted(PRESETS))
    raise ModelConfigError(f"unknown label map {spec!r}: use a preset ({known}), a .json file or 'raw=name,...'")


def apply_label_map(raw: str, label_map: Mapping[str, str]) -> str:
    """Map one raw label; unmapped labels pass through unchanged when the map is empty."""
    raw = raw.strip()
    if not label_map:
        return raw
    try:
        return label_map[raw]
    except KeyError:
        raise ModelConfigError(f"label {raw!r} is not in the label map (known: {sorted(label_map)})") from None


def topic_classes(label_map: Mapping[str, str], observed: list[str]) -> tuple[str, ...]:
    """Head order for topics: the map's values in key order, else the sorted observed labels."""
    if label_map:
        ordered = sorted(label_map.items(), key=lambda kv: (len(kv[0]), kv[0]))
        return tuple(dict.fromkeys(name for _, name in ordered))
    return tuple(sorted(set(observed)))
