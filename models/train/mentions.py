"""Texts with labelled mentions (FinEntity's JSONL format), read, sampled and tokenised with their spans.

One line a text: ``{"text", "entities": [{"start", "end", "name", "sentiment"}], "sentiment"}``,
the text's own ``sentiment`` optional (null or absent: the text has no document label). Mention
spans go through the model's text normaliser with ``normalise_with_spans`` and then onto tokens
by the fast tokenizer's offsets, exactly as inference maps them.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.exceptions import ModelConfigError
from models.labels import SENTIMENT_CLASSES
from models.spans import TokenSpan, token_span
from models.text import normalise_with_spans

CharSpan = tuple[int, int]


@dataclass(frozen=True)
class MentionRow:
    """One text, its mentions' character spans and sentiments (in file order), and its own label if any."""

    text: str
    spans: tuple[CharSpan, ...]
    sentiments: tuple[str, ...]
    paragraph: str | None = None


def read_mention_rows(path: Path) -> list[MentionRow]:
    """Every line of a FinEntity-format file; a malformed line fails with its file and line number."""
    if not path.is_file():
        raise ModelConfigError(f"entity data {path} does not exist")
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    rows.append(_row(json.loads(line)))
                except (ValueError, KeyError, TypeError) as exc:
                    raise ModelConfigError(f"{path}:{number}: not a FinEntity row ({exc})") from exc
    return rows


def _row(raw: dict[str, Any]) -> MentionRow:
    text = raw["text"]
    if not isinstance(text, str):
        raise TypeError("text must be a string")
    spans, sentiments = [], []
    for entity in raw["entities"]:
        start, end, label = int(entity["start"]), int(entity["end"]), entity["sentiment"]
        if not 0 <= start < end <= len(text):
            raise ValueError(f"span {start}-{end} outside the text")
        if label not in SENTIMENT_CLASSES:
            raise ValueError(f"sentiment {label!r} is not one of {SENTIMENT_CLASSES}")
        spans.append((start, end))
        sentiments.append(label)
    paragraph = raw.get("sentiment")
    if paragraph is not None and paragraph not in SENTIMENT_CLASSES:
        raise ValueError(f"sentiment {paragraph!r} is not one of {SENTIMENT_CLASSES}")
    return MentionRow(text, tuple(spans), tuple(sentiments), paragraph)


def sampled(rows: Sequence[Any], size: int | None, seed: int) -> list[Any]:
    """A seeded random sample of ``size`` rows in their file order (all of them when ``size`` is None)."""
    if size is None or size >= len(rows):
        return list(rows)
    keep = sorted(random.Random(seed).sample(range(len(rows)), size))
    return [rows[i] for i in keep]


def is_mixed(sentiments: Sequence[int]) -> bool:
    """Whether a text's labelled mentions disagree (the hard case a document label cannot serve)."""
    return len(set(sentiments)) > 1


def tokenize_with_mentions(
    tokenizer: Any,
    texts: Sequence[str],
    spans: Sequence[Sequence[CharSpan]],
    normaliser: str | None,
    max_length: int,
) -> tuple[list[list[int]], list[list[TokenSpan | None]]]:
    """Token ids of each normalised text and each mention's token span (None: normalised away or cut off).

    A text the normaliser empties is read as given, and its mentions are dropped.
    """
    normalised: list[str] = []
    moved: list[list[CharSpan | None]] = []
    for text, text_spans in zip(texts, spans, strict=True):
        norm, carried = normalise_with_spans(text, list(text_spans), normaliser)
        normalised.append(norm or text)
        moved.append(carried if norm else [None] * len(text_spans))
    encoded = tokenizer(normalised, truncation=True, max_length=max_length, return_offsets_mapping=True)
    mentions = [
        [None if span is None else token_span(offsets, *span) for span in row]
        for row, offsets in zip(moved, encoded["offset_mapping"], strict=True)
    ]
    return list(encoded["input_ids"]), mentions
