"""Reading labelled text (CSV or JSONL with ``text`` and ``label``) for training and evaluation."""

from __future__ import annotations

import csv
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from models.exceptions import ModelConfigError
from models.labels import apply_label_map

SAMPLE_SEED = 13
"""The seed of ``LabelledTexts.sample``: a limited evaluation sees the same rows every run."""


@dataclass(frozen=True)
class LabelledTexts:
    """Texts with their class names, in file order."""

    texts: list[str]
    labels: list[str]

    def __len__(self) -> int:
        return len(self.texts)

    def sample(self, limit: int | None, seed: int = SAMPLE_SEED) -> LabelledTexts:
        """At most ``limit`` rows drawn from the whole file, stratified by label and seeded, in file order.

        Each label keeps its share of the rows, so a file sorted by label still gives every class
        its place and a limited evaluation estimates the full figure instead of its first rows'.
        """
        if limit is None or limit >= len(self):
            return self
        rng = random.Random(seed)
        by_label: dict[str, list[int]] = {}
        for index, label in enumerate(self.labels):
            by_label.setdefault(label, []).append(index)
        # One key per row, spread evenly over [0, 1) within its label: the lowest keys are a proportional draw.
        keys: dict[int, float] = {}
        for indices in by_label.values():
            rng.shuffle(indices)
            keys.update((index, (rank + rng.random()) / len(indices)) for rank, index in enumerate(indices))
        chosen = sorted(sorted(keys, key=keys.__getitem__)[:limit])
        return LabelledTexts([self.texts[i] for i in chosen], [self.labels[i] for i in chosen])


def read_labelled(path: Path | str, label_map: Mapping[str, str], require_label: bool = True) -> LabelledTexts:
    """Read ``text,label`` rows from a .csv or .jsonl file and map the labels to class names.

    With ``require_label=False`` only ``text`` is needed (unlabelled texts; labels come back empty).
    """
    path = Path(path)
    if not path.is_file():
        raise ModelConfigError(f"data file not found: {path}")
    rows: list[dict[str, Any]] = _read_jsonl(path) if path.suffix in {".jsonl", ".json"} else _read_csv(path)
    texts: list[str] = []
    labels: list[str] = []
    for line_no, row in enumerate(rows, start=2):
        text, label = row.get("text"), row.get("label")
        if not require_label:
            label = ""
        if text is None or label is None:
            raise ModelConfigError(f"{path}:{line_no}: each row needs 'text' and 'label'")
        if not str(text).strip():
            continue
        texts.append(str(text))
        labels.append(apply_label_map(str(label), label_map) if require_label else "")
    if not texts:
        raise ModelConfigError(f"{path} holds no labelled rows")
    return LabelledTexts(texts, labels)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open("rb") as handle:
        return [orjson.loads(line) for line in handle if line.strip()]
