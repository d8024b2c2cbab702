"""The ``null`` model, for benchmarks only: fixed predictions, no computation.

``finsent bench pipeline`` runs the worker with ``FINSENT_MODEL=null`` to measure the ceiling
of the plumbing around the model. Settings refuse it in production, and nothing selects it
automatically.
"""

from __future__ import annotations

from collections.abc import Sequence

from models.classifier import Prediction
from models.exceptions import EmptyTextError

NULL_MODEL = "null"

_FIXED = Prediction(
    topic="General News | Opinion",
    topic_confidence=1.0,
    sentiment=0,
    sentiment_label="neutral",
    p_negative=0.0,
    p_neutral=1.0,
    p_positive=0.0,
    score=0.0,
    model_version="null",
)


class NullClassifier:
    """Answers every text with the same neutral prediction."""

    model_version = "null"

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if any(not text.strip() for text in texts):
            raise EmptyTextError("cannot classify empty or whitespace-only text")
        return [_FIXED] * len(texts)

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """One token per text: the null model computes nothing."""
        return [1] * len(texts)
