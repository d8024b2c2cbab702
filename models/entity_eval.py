"""``finsent eval --task entity``: per-mention sentiment against the document label copied to every mention.

The data is FinEntity's format, one paragraph a line: ``{"text", "entities": [{"start", "end",
"sentiment", ...}]}``. A paragraph is *mixed* when its entities' labels disagree: there copying
the document's label cannot be right for all of them, and reading each mention matters most.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from models.classifier import Classifier
from models.data import SAMPLE_SEED
from models.exceptions import ModelConfigError
from models.labels import apply_label_map
from models.metrics import classification_metrics, macro_f1_interval


@dataclass(frozen=True)
class EntityParagraph:
    """A text, the character spans of its entities and their labels (class names)."""

    text: str
    spans: list[tuple[int, int]]
    labels: list[str]

    @property
    def mixed(self) -> bool:
        return len(set(self.labels)) > 1


def read_entity_paragraphs(path: Path | str, label_map: Mapping[str, str]) -> list[EntityParagraph]:
    """Paragraphs with at least one entity; a span outside its text or a row without text is an error."""
    path = Path(path)
    if not path.is_file():
        raise ModelConfigError(f"data file not found: {path}")
    paragraphs: list[EntityParagraph] = []
    with path.open("rb") as handle:
        for line_no, line in enumerate(handle, start=1):
            if line.strip():
                paragraph = _paragraph(orjson.loads(line), label_map, f"{path}:{line_no}")
                if paragraph.spans:
                    paragraphs.append(paragraph)
    if not paragraphs:
        raise ModelConfigError(f"{path} holds no paragraph with labelled entities")
    return paragraphs


def _paragraph(row: Any, label_map: Mapping[str, str], where: str) -> EntityParagraph:
    text = row.get("text") if isinstance(row, dict) else None
    entities = row.get("entities") if isinstance(row, dict) else None
    if not isinstance(text, str) or not text.strip() or not isinstance(entities, list):
        raise ModelConfigError(f"{where}: each line needs a non-empty 'text' and a list of 'entities'")
    spans, labels = [], []
    for entity in entities:
        try:
            start, end, label = int(entity["start"]), int(entity["end"]), str(entity["sentiment"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelConfigError(f"{where}: each entity needs integer 'start', 'end' and a 'sentiment'") from exc
        if not 0 <= start < end <= len(text):
            raise ModelConfigError(f"{where}: entity span ({start}, {end}) is not inside the text")
        spans.append((start, end))
        labels.append(apply_label_map(label, label_map))
    return EntityParagraph(text, spans, labels)


def sample_paragraphs(paragraphs: list[EntityParagraph], limit: int | None) -> list[EntityParagraph]:
    """At most ``limit`` paragraphs drawn with the evaluation seed, in file order."""
    if limit is None or limit >= len(paragraphs):
        return paragraphs
    chosen = sorted(random.Random(SAMPLE_SEED).sample(range(len(paragraphs)), limit))
    return [paragraphs[i] for i in chosen]


def evaluate_entities(
    classifier: Classifier, data: Path | str, label_map: Mapping[str, str], limit: int | None = None
) -> dict[str, Any]:
    """Entity macro-F1 and accuracy, overall and on mixed paragraphs, beside the document label copied; and speed."""
    paragraphs = sample_paragraphs(read_entity_paragraphs(data, label_map), limit)
    classes = classifier.spec.sentiments
    unknown = sorted({label for p in paragraphs for label in p.labels} - set(classes))
    if unknown:
        raise ModelConfigError(f"labels {unknown} are not sentiment classes of this model; pass --label-map")
    started = time.perf_counter()
    results = classifier.predict_with_entities([(p.text, p.spans) for p in paragraphs])
    seconds = time.perf_counter() - started
    truth, read, copied, mixed, sources = [], [], [], [], {"mention": 0, "document": 0}
    paragraph_of: list[int] = []
    for number, (paragraph, (document, entities)) in enumerate(zip(paragraphs, results, strict=True)):
        for label, entity in zip(paragraph.labels, entities, strict=True):
            truth.append(label)
            read.append(entity.sentiment_label)
            copied.append(document.sentiment_label)
            mixed.append(paragraph.mixed)
            paragraph_of.append(number)
            sources[entity.source] += 1
    n_entities = len(truth)
    return {
        "task": "entity",
        "model_version": classifier.model_version,
        "backend": classifier.backend_name,
        "entity_head": classifier.spec.entity_head,
        "paragraphs": len(paragraphs),
        "mixed_paragraphs": sum(p.mixed for p in paragraphs),
        "entities": n_entities,
        "mixed_entities": sum(mixed),
        "sources": sources,
        **_scores(truth, read, mixed, paragraph_of, classes),
        "document_copied": _scores(truth, copied, mixed, paragraph_of, classes),
        "texts_per_s": round(len(paragraphs) / seconds, 1),
        "entities_per_s": round(n_entities / seconds, 1),
        "seconds": round(seconds, 2),
    }


def _scores(
    truth: list[str], predicted: list[str], mixed: list[bool], paragraph_of: list[int], classes: Sequence[str]
) -> dict[str, Any]:
    """Metrics over every entity (``overall``) and over the entities of mixed paragraphs (``mixed``),
    each with a 95 % interval of its macro-F1 (paragraphs resampled: ``macro_f1_interval``)."""
    in_mixed = [i for i, flag in enumerate(mixed) if flag]
    mixed_truth, mixed_predicted = [truth[i] for i in in_mixed], [predicted[i] for i in in_mixed]
    mixed_paragraphs = [paragraph_of[i] for i in in_mixed]
    return {
        "overall": _with_interval(truth, predicted, paragraph_of, classes),
        "mixed": _with_interval(mixed_truth, mixed_predicted, mixed_paragraphs, classes) if in_mixed else None,
    }


def _with_interval(
    truth: list[str], predicted: list[str], paragraph_of: list[int], classes: Sequence[str]
) -> dict[str, Any]:
    interval = macro_f1_interval(truth, predicted, classes, groups=paragraph_of)
    return classification_metrics(truth, predicted, classes) | {"macro_f1_95": interval}
