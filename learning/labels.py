"""Recording people's corrections: one document, its sentiment, its topic, or both."""

from __future__ import annotations

from datetime import UTC, datetime

from learning.exceptions import LearningError
from models.labels import PRESETS
from schemas.api import SentimentName
from schemas.learning import LabelRow
from storage import Store
from storage.learning import insert_labels, scored_version

TOPICS: tuple[str, ...] = tuple(dict.fromkeys(PRESETS["tfn-topic"].values()))
"""The topics a label may name: those the models are trained to tell apart."""


class UnknownDocument(LearningError):
    """The labelled document is not in the store."""


def canonical_topic(name: str) -> str:
    """``name`` as the models spell it (any case); LearningError naming the choices otherwise."""
    for topic in TOPICS:
        if topic.casefold() == name.strip().casefold():
            return topic
    raise LearningError(f"unknown topic {name!r}: one of {', '.join(TOPICS)}")


def record_label(
    store: Store, doc_id: str, *, sentiment: SentimentName | None, topic: str | None, labeller: str
) -> list[LabelRow]:
    """Store a person's label(s) for one stored document; the model version it corrects is the one that scored it."""
    if sentiment is None and topic is None:
        raise LearningError("give a sentiment, a topic or both")
    version = scored_version(store, doc_id)
    if version is None:
        raise UnknownDocument(f"no stored document {doc_id!r}: see `finsent query documents` for ids")
    now = datetime.now(UTC).replace(microsecond=0)
    rows = [LabelRow(doc_id=doc_id, task="sentiment", label=sentiment, labeller=labeller, labelled_at=now,
                     model_version=version)] if sentiment else []  # fmt: skip
    if topic is not None:
        rows.append(LabelRow(doc_id=doc_id, task="topic", label=canonical_topic(topic), labeller=labeller,
                             labelled_at=now, model_version=version))  # fmt: skip
    insert_labels(store, rows)
    return rows
