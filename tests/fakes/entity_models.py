"""Models for per-symbol tests: one without an entity head, and one whose entity head reads the
first company of a text positive and every later one negative (the issue's "X beats, Y misses")."""

from __future__ import annotations

from collections.abc import Sequence

from models import Prediction
from models.classifier import EntityPrediction

DOCUMENT = Prediction("Earnings", 0.9, 1, "positive", 0.02, 0.03, 0.95, 0.93, "fake-v1")
"""What both models read in every text as a whole."""


def entity(start: int, end: int, positive: bool) -> EntityPrediction:
    """A mention read positive (score 0.8) or negative (score -0.7) by an entity head."""
    if positive:
        return EntityPrediction(start, end, 1, "positive", 0.05, 0.1, 0.85, 0.8, "mention")
    return EntityPrediction(start, end, -1, "negative", 0.8, 0.1, 0.1, -0.7, "mention")


class CopyingModel:
    """A model without an entity head (``predict`` only); counts its calls."""

    model_version = "fake-v1"

    def __init__(self) -> None:
        self.predicted = 0
        self.tokenised = 0

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        self.tokenised += 1
        return [len(text.split()) + 2 for text in texts]

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        self.predicted += 1
        return [DOCUMENT] * len(texts)


class FirstWinsModel(CopyingModel):
    """An entity head reading the first mention of each text positive and every later one negative;
    records the spans it was given and counts its passes."""

    def __init__(self) -> None:
        super().__init__()
        self.passes = 0
        self.spans: list[list[tuple[int, int]]] = []

    def predict_with_entities(
        self, items: Sequence[tuple[str, Sequence[tuple[int, int]]]]
    ) -> list[tuple[Prediction, list[EntityPrediction]]]:
        self.passes += 1
        self.spans += [list(spans) for _, spans in items]
        return [(DOCUMENT, [entity(s, e, positive=i == 0) for i, (s, e) in enumerate(spans)]) for _, spans in items]

    def predict_entities(self, items: Sequence[tuple[str, Sequence[tuple[int, int]]]]) -> list[list[EntityPrediction]]:
        return [entities for _, entities in self.predict_with_entities(items)]


class EntityHeadSpec:
    """What the stream reads of a model's spec to know it has an entity head."""

    entity_head = True


class ServedEntityModel(FirstWinsModel):
    """``FirstWinsModel`` saying, as a loaded classifier does, that it has an entity head."""

    model_version = "fake-student"
    spec = EntityHeadSpec()
