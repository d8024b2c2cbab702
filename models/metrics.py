"""Classification metrics: one function, used by training, `finsent eval` and the model card."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support


def classification_metrics(truth: Sequence[str], predicted: Sequence[str], classes: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro and weighted F1, and per-class precision/recall/F1/support."""
    labels = list(classes)
    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted, labels=labels, zero_division=0)
    per_class = {
        name: {
            "precision": round(float(p), 4),
            "recall": round(float(r), 4),
            "f1": round(float(f), 4),
            "support": int(s),
        }
        for name, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    }
    present = [name for name in labels if per_class[name]["support"] or name in predicted]
    return {
        "n": len(truth),
        "accuracy": round(float(accuracy_score(truth, predicted)), 4),
        "macro_f1": round(float(f1_score(truth, predicted, labels=present, average="macro", zero_division=0)), 4),
        "weighted_f1": round(float(f1_score(truth, predicted, labels=present, average="weighted", zero_division=0)), 4),
        "per_class": per_class,
    }
