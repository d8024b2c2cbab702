"""What to label next, when a second model can say where the serving one is probably wrong."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from models import Classifier
from models.labels import SENTIMENT_CLASSES
from schemas.documents import classifier_text


def document_text(row: dict[str, Any]) -> str:
    """The text the classifiers read for a stored document row (a dict with ``headline`` and ``body``)."""
    return classifier_text(str(row["headline"]), str(row.get("body") or ""))


def rank_by_teacher(rows: Sequence[dict[str, Any]], teacher: Classifier, limit: int) -> list[dict[str, Any]]:
    """Candidates re-ranked by how far ``teacher`` disagrees with the stored (serving model's) probabilities.

    Disagreement is the total variation distance between the two sentiment distributions (0 to 1).
    New sources and symbols stay first; the rest is taken by disagreement, balanced across the
    serving model's predicted classes as the candidates were.
    """
    if not rows:
        return []
    _, probabilities = teacher.predict_probabilities([document_text(row) for row in rows])
    ranked = []
    for row, probs in zip(rows, probabilities, strict=True):
        theirs = dict(zip(teacher.spec.sentiments, (float(p) for p in probs), strict=True))
        teacher_label = max(theirs, key=lambda name: theirs[name])
        disagreement = 0.5 * sum(abs(theirs[name] - float(row[f"p_{name}"])) for name in SENTIMENT_CLASSES)
        why = row["why"] if row["why"] == "new" or teacher_label == row["predicted"] else "teacher disagrees"
        ranked.append(row | {"teacher": teacher_label, "disagreement": round(disagreement, 4), "why": why})
    ranked.sort(key=lambda row: (row["why"] != "new", -row["disagreement"], row["doc_id"]))
    per_class = max(1, -(-limit // len(SENTIMENT_CLASSES)))
    taken: dict[str, int] = {}
    chosen = []
    for row in ranked:
        if taken.get(row["predicted"], 0) < per_class:
            taken[row["predicted"]] = taken.get(row["predicted"], 0) + 1
            chosen.append(row)
        if len(chosen) == limit:
            break
    return chosen
