"""Per-symbol sentiment and relevance of a document, from its mentions and one model pass.

The stream and the API both: find a text's mentions (``plan_mentions``), send the spans of the
earliest ``MENTIONS_SCORED_PER_SYMBOL`` mentions of each symbol with the text to the model
(``predict_with_entities``), and fold each symbol's mention predictions into one
(``symbol_sentiments``):

* the probabilities of a symbol's mentions are averaged, the ``k``-th mention (from 0, in text
  order) weighing ``1 / (1 + k)``, doubled when it is in the headline: a headline states what the
  story is, and later mentions mostly repeat it. The label is the largest averaged probability,
  the score ``p_positive - p_negative``; source ``mention``;
* a symbol with no mention the model read for itself (given only in the message's explicit
  tickers, or a model without an entity head, whose predictions say ``document``) keeps the
  document's sentiment and score; source ``document``.

Relevance comes from ``models.entities.relevance``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from models.classifier import EntityItem, EntityPrediction, EntitySource, Prediction, copied_entity
from models.entities import Mention, SymbolExtractor
from models.entities.relevance import document_relevances

MENTIONS_SCORED_PER_SYMBOL = 4
"""Mentions of one symbol the model reads (the earliest); later ones would weigh 1/5 or less."""
HEADLINE_WEIGHT = 2.0
_SENTIMENTS = (-1, 0, 1)


@dataclass(frozen=True, slots=True)
class SymbolMentions:
    """One text's symbols (sorted), their relevance, and the mentions the model is to read."""

    symbols: list[str]
    relevances: list[int]
    """Parallel to ``symbols``."""
    mentions: list[Mention]
    """The mentions scored, in text order; ``spans`` and ``owners`` are parallel to it."""
    owners: list[int]
    """Per scored mention, the index of its symbol in ``symbols``."""
    weights: list[float]

    @property
    def spans(self) -> list[tuple[int, int]]:
        """The character spans of the scored mentions, as ``predict_with_entities`` takes them."""
        return [(m.start or 0, m.end or 0) for m in self.mentions]


@dataclass(frozen=True, slots=True)
class SymbolSentiment:
    """The sentiment of a text toward one symbol, and how much the text is about it."""

    symbol: str
    sentiment: int
    score: float
    source: EntitySource
    relevance: int


class EntityScorer(Protocol):
    """A model that scores documents; ``predict_with_entities`` is used where it has one."""

    def predict(self, texts: list[str]) -> list: ...


def plan_mentions(extractor: SymbolExtractor, text: str, explicit: Iterable[str], headline_end: int) -> SymbolMentions:
    """The symbols of ``text`` (and ``explicit`` tickers) with their relevance and mentions to score.

    ``headline_end`` is where the headline ends in ``text`` (its length for a tweet).
    """
    return mentions_to_score(extractor.mentions(text, explicit), headline_end, len(text))


def mentions_to_score(mentions: Sequence[Mention], headline_end: int, text_end: int) -> SymbolMentions:
    """``plan_mentions`` for mentions already found (``SymbolExtractor.mentions``)."""
    if not mentions:
        return SymbolMentions([], [], [], [], [])
    subjects = [m for m in mentions if not m.broker]
    symbols = sorted({m.symbol for m in subjects})
    index = {symbol: i for i, symbol in enumerate(symbols)}
    relevance = document_relevances(subjects, headline_end, text_end)
    seen = [0] * len(symbols)
    scored: list[Mention] = []
    owners: list[int] = []
    weights: list[float] = []
    for mention in subjects:
        if mention.start is None:
            continue
        owner = index[mention.symbol]
        rank = seen[owner]
        seen[owner] = rank + 1
        if rank < MENTIONS_SCORED_PER_SYMBOL:
            scored.append(mention)
            owners.append(owner)
            weights.append((HEADLINE_WEIGHT if mention.start < headline_end else 1.0) / (1 + rank))
    return SymbolMentions(symbols, [relevance[s] for s in symbols], scored, owners, weights)


Scored = tuple[Prediction, list[EntityPrediction]]
"""A text's document prediction and the model's reading of its spans."""


def predict_with_entities(scorer: EntityScorer, items: Sequence[EntityItem]) -> list[Scored]:
    """``scorer.predict_with_entities(items)``; for a scorer with only ``predict`` (the null model, a
    test double), its document predictions with every span given the document's sentiment."""
    method = getattr(scorer, "predict_with_entities", None)
    if method is not None:
        return list(method(items))
    predictions = scorer.predict([text for text, _ in items])
    return [
        (doc, [copied_entity(doc, start, end) for start, end in spans])
        for doc, (_, spans) in zip(predictions, items, strict=True)
    ]


def has_entity_head(scorer: object) -> bool:
    """Whether ``scorer`` reads the sentiment toward each mention itself (its model has an entity head)."""
    return bool(getattr(getattr(scorer, "spec", None), "entity_head", False))


def reads_mentions_for(reader: object, scorer: object) -> bool:
    """Whether ``reader`` should read the mentions of texts ``scorer`` scores: it has an entity head and
    ``scorer`` (a route's model, such as the teacher on the news route) has none."""
    return reader is not scorer and has_entity_head(reader) and not has_entity_head(scorer)


def predict_read_by(scorer: EntityScorer, reader: EntityScorer, items: Sequence[EntityItem]) -> list[Scored]:
    """``predict_with_entities(scorer, items)``, the mentions read by ``reader`` where ``reads_mentions_for``."""
    scored = predict_with_entities(scorer, items)
    return with_entity_readings(scored, items, reader) if reads_mentions_for(reader, scorer) else scored


def with_entity_readings(scored: Sequence[Scored], items: Sequence[EntityItem], reader: EntityScorer) -> list[Scored]:
    """``scored`` with each text's mentions read by ``reader``'s entity head; the document predictions stay.

    For documents scored by a model without an entity head (the teacher on the news route, until one
    is trained with a head): the texts that have mentions take a second, entity-only pass.
    """
    wanted = [i for i, (_, spans) in enumerate(items) if spans]
    if not wanted:
        return list(scored)
    readings = reader.predict_entities([items[i] for i in wanted])  # type: ignore[attr-defined]
    out = list(scored)
    for i, entities in zip(wanted, readings, strict=True):
        out[i] = (out[i][0], list(entities))
    return out


def symbol_sentiments(
    plan: SymbolMentions, document: Prediction, entities: Sequence[EntityPrediction]
) -> list[SymbolSentiment]:
    """Per symbol of ``plan`` (same order), its sentiment from ``entities`` (the model's reading of
    ``plan.mentions``, in order); see the module docstring for how mentions are combined."""
    read: list[list[tuple[float, EntityPrediction]]] = [[] for _ in plan.symbols]
    for owner, weight, entity in zip(plan.owners, plan.weights, entities, strict=True):
        if entity.source == "mention":
            read[owner].append((weight, entity))
    return [
        _combined(symbol, relevance, readings) if readings else document_sentiment(document, symbol, relevance)
        for symbol, relevance, readings in zip(plan.symbols, plan.relevances, read, strict=True)
    ]


def document_sentiment(document: Prediction, symbol: str = "", relevance: int = 100) -> SymbolSentiment:
    """The document's sentiment given to ``symbol`` (source ``document``)."""
    return SymbolSentiment(symbol, document.sentiment, document.score, "document", relevance)


def _combined(symbol: str, relevance: int, readings: list[tuple[float, EntityPrediction]]) -> SymbolSentiment:
    if len(readings) == 1:
        entity = readings[0][1]
        return SymbolSentiment(symbol, entity.sentiment, entity.score, "mention", relevance)
    total = sum(weight for weight, _ in readings)
    probabilities = [
        sum(weight * getattr(entity, name) for weight, entity in readings) / total
        for name in ("p_negative", "p_neutral", "p_positive")
    ]
    sentiment = _SENTIMENTS[probabilities.index(max(probabilities))]
    score = max(-1.0, min(1.0, probabilities[2] - probabilities[0]))
    return SymbolSentiment(symbol, sentiment, score, "mention", relevance)
