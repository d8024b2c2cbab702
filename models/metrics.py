"""Classification metrics: one function, used by training, `finsent eval` and the model card."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
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


BOOTSTRAP_RESAMPLES = 1_000
BOOTSTRAP_SEED = 0


def macro_f1_interval(
    truth: Sequence[str],
    predicted: Sequence[str],
    classes: Sequence[str],
    groups: Sequence[int] | None = None,
    level: float = 0.95,
) -> list[float]:
    """A bootstrap interval of ``classification_metrics``'s macro-F1: ``BOOTSTRAP_RESAMPLES`` resamples
    (seeded, so the same rows give the same interval) of the rows, or of whole ``groups`` of them
    (the mentions of one paragraph move together, so a paragraph is resampled as a unit).

    How far a figure on a few hundred rows can move by which rows were drawn: two models whose
    figures differ by much less than this width are not told apart by the set.
    """
    if not truth:
        return [0.0, 0.0]
    index = {name: i for i, name in enumerate(classes)}
    k = len(classes)
    cells = np.array([index[t] * k + index[p] for t, p in zip(truth, predicted, strict=True)])
    member = np.arange(len(cells)) if groups is None else np.unique(np.asarray(groups), return_inverse=True)[1]
    n_groups = int(member.max()) + 1
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    drawn = rng.multinomial(n_groups, np.full(n_groups, 1 / n_groups), size=BOOTSTRAP_RESAMPLES)
    weights = drawn[:, member].astype(np.float64)  # (resamples, rows): how often each row was drawn
    confusion = (weights @ np.eye(k * k)[cells]).reshape(-1, k, k)
    hits = np.einsum("bii->bi", confusion)
    actual, said = confusion.sum(axis=2), confusion.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(actual + said > 0, 2 * hits / (actual + said), 0.0)
    present = (actual > 0) | (said > 0)
    macro = (f1 * present).sum(axis=1) / np.maximum(present.sum(axis=1), 1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(macro, [tail, 100 - tail])
    return [round(float(low), 4), round(float(high), 4)]
