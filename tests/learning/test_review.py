"""Ranking what to label next by a teacher's disagreement with the stored scores."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from learning.review import rank_by_teacher


class Teacher:
    """Says positive for every text mentioning 'record', else agrees with nobody in particular (neutral)."""

    spec = SimpleNamespace(sentiments=("negative", "neutral", "positive"))

    def predict_probabilities(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        rows = [[0.05, 0.05, 0.9] if "record" in text else [0.1, 0.8, 0.1] for text in texts]
        return np.zeros((len(texts), 1)), np.array(rows)


def candidate(doc_id: str, headline: str, predicted: str, probs: tuple[float, float, float], why: str = "") -> dict:
    p_negative, p_neutral, p_positive = probs
    return {"doc_id": doc_id, "headline": headline, "body": "", "predicted": predicted, "p_negative": p_negative,
            "p_neutral": p_neutral, "p_positive": p_positive, "why": why or "low confidence"}  # fmt: skip


def test_the_largest_disagreements_come_first_new_ones_stay_on_top_and_classes_stay_balanced() -> None:
    rows: list[dict[str, Any]] = [
        candidate("agree", "plain news", "neutral", (0.1, 0.8, 0.1)),
        candidate("wrong", "sales at a record", "neutral", (0.1, 0.8, 0.1)),
        candidate("half", "orders at a record", "positive", (0.1, 0.4, 0.5)),
        candidate("fresh", "plain news", "neutral", (0.1, 0.8, 0.1), why="new"),
        candidate("neg1", "record loss", "negative", (0.9, 0.05, 0.05)),
        candidate("neg2", "record fine", "negative", (0.8, 0.1, 0.1)),
    ]
    ranked = rank_by_teacher(rows, Teacher(), limit=3)  # type: ignore[arg-type]
    assert [row["doc_id"] for row in ranked] == ["fresh", "neg1", "half"]
    assert ranked[1]["why"] == "teacher disagrees" and ranked[1]["teacher"] == "positive"
    assert ranked[1]["disagreement"] == 0.85 and ranked[2]["why"] == "low confidence", "agreeing labels keep their why"
    assert rank_by_teacher([], Teacher(), 3) == []  # type: ignore[arg-type]
