"""One batch through the pipeline, without Kafka: parse → dedupe → symbols → classify → rows.

The Faust agent (``streams.app``) feeds batches in and performs the writes in order; keeping
the logic here lets it be tested with no broker.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from models import Classifier, NullClassifier, Prediction
from models.entities import SymbolExtractor
from models.follow import FixedModel, ModelFollower, Scorer
from models.symbol_sentiment import (
    Scored,
    SymbolMentions,
    SymbolSentiment,
    document_sentiment,
    plan_mentions,
    predict_with_entities,
    reads_mentions_for,
    symbol_sentiments,
    with_entity_readings,
)
from schemas import DeadLetter, Document, DocumentKind, DocumentRow, InvalidMessage, ScoreRecord, parse_document
from schemas.records import HEADLINE_CHARS
from schemas.stories import StoryFields
from streams.exceptions import ClassifierUnavailable
from streams.routing import RouteInput, Router, as_router
from streams.stages import StageTimer
from streams.stories import StoryAssigner, StoryInput

Parsed = list[tuple["IncomingMessage", Document]]
CANARY_TEXT = "Shares of the company rose after it reported quarterly earnings."
DEFAULT_MAX_FUTURE_SKEW_S = 300.0
"""Documents dated further ahead of the worker's clock than this are dead-lettered."""


log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """A raw message as consumed, with where it came from."""

    raw: bytes
    topic: str
    partition: int
    offset: int
    kind: DocumentKind
    enqueued_at: float | None = None
    """When the message entered Kafka (its timestamp, epoch seconds): how long it waited is routing's backlog signal."""


@dataclass
class BatchResult:
    """What a batch produces; the agent writes it in order, then acks."""

    scores: list[ScoreRecord] = field(default_factory=list)
    documents: list[DocumentRow] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    duplicates: int = 0
    replayed: list[str] = field(default_factory=list)
    """Ids of documents already stored before this batch: delivered again, e.g. after a crash."""
    insert_token: str = field(default_factory=lambda: uuid.uuid4().hex)
    """The id of this batch's documents insert, the same on every retry of it."""


class BatchProcessor:
    """Turns a batch of raw messages into rows to store, scores to emit and dead letters."""

    def __init__(
        self,
        classifier: Classifier | NullClassifier | FixedModel | ModelFollower | Router,
        existing: Callable[[Sequence[str]], dict[str, str]],
        symbols: SymbolExtractor | None = None,
        author_key: bytes = b"",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_future_skew_s: float = DEFAULT_MAX_FUTURE_SKEW_S,
        stories: StoryAssigner | None = None,
        timer: StageTimer | None = None,
    ):
        self.router = as_router(classifier)
        self.existing = existing
        self.symbols = symbols or SymbolExtractor.default()
        self.author_key = author_key
        self.clock = clock
        self.max_future_skew = timedelta(seconds=max_future_skew_s)
        self.stories = stories
        self._story_thread = ThreadPoolExecutor(1, "finsent-stories")
        self.timer = timer or StageTimer()
        """Where the batches' time goes, per stage (the handler adds the writes' stages)."""

    @property
    def classifier(self) -> Scorer:
        """The model the next batch's unrouted documents will be scored by."""
        return self.router.default_model()

    def process(self, messages: Sequence[IncomingMessage]) -> BatchResult:
        result = BatchResult()
        stage = self.timer.stage
        with stage("parse"):
            parsed = self._parse(messages, result)
        with stage("dedupe"):
            fresh = self._dedupe(parsed, result)
        if fresh:
            with stage("mentions"):
                plans = self._mentions(fresh)
            stories = self._start_stories([doc for _, doc in fresh], plans)
            try:
                with stage("classify"):
                    classified = self._classify_by_route(fresh, plans, result)
            finally:
                # Whatever classify did, the batch's index writes end before the batch is retried or acked.
                futures.wait([stories])
            with stage("rows"):
                story_of = stories.result()
                self._rows(classified, plans, story_of, result)
        return result

    def _start_stories(self, docs: list[Document], plans: dict[str, SymbolMentions]) -> Future[dict[str, StoryFields]]:
        """The batch's stories, assigned in the stories thread while the model reads the batch.

        Assigned in line, the story index held up the worker's one Python thread for a sixth of a
        batch; beside the model's call it costs no wait where that call leaves the CPU idle (a GPU
        host), and on a CPU host the two share the cores (docs/stories.md). A document the model
        then fails on stays in the index: a later copy may name it as its story.
        """
        if self.stories is None:
            with self.timer.stage("stories"):
                return _done({doc.doc_id: StoryFields.first(doc.doc_id) for doc in docs})
        symbols = [plans[doc.doc_id].symbols for doc in docs]
        return self._story_thread.submit(self._assign_stories, self.stories, docs, symbols)

    def _assign_stories(
        self, assigner: StoryAssigner, docs: list[Document], symbols: list[list[str]]
    ) -> dict[str, StoryFields]:
        with self.timer.stage("stories"):
            inputs = [StoryInput(doc.doc_id, doc.event_time, doc.headline, doc.body, found)
                      for doc, found in zip(docs, symbols, strict=True)]  # fmt: skip
            return dict(zip([doc.doc_id for doc in docs], assigner.assign(inputs), strict=True))

    def _mentions(self, fresh: Parsed) -> dict[str, SymbolMentions]:
        """Per document id (unique once deduplicated), its symbols and the mentions the model reads."""
        return {doc.doc_id: plan_mentions(self.symbols, doc.text, doc.tickers, len(doc.headline)) for _, doc in fresh}

    def _classify_by_route(
        self, fresh: Parsed, plans: dict[str, SymbolMentions], result: BatchResult
    ) -> list[tuple[tuple[IncomingMessage, Document], Scored]]:
        """``_classify`` once per model the router picks for the batch's documents; results in input order.

        The router takes each model once per batch: a model switch lands between batches, never inside one.
        """
        now = self.clock().timestamp()
        plan = self.router.plan(
            [RouteInput(doc.kind.value, doc.source, _waited(message, now)) for message, doc in fresh]
        )
        classified = []
        reader = self.router.default_model()
        for model, positions in plan:
            part = self._classify(model, [fresh[p] for p in positions], plans, result)
            if reads_mentions_for(reader, model):
                part = _read_entities(reader, part, plans)
            classified += part
        order = {id(message): position for position, (message, _) in enumerate(fresh)}
        return sorted(classified, key=lambda pair: order[id(pair[0][0])])

    def _classify(
        self, classifier: Scorer, fresh: Parsed, plans: dict[str, SymbolMentions], result: BatchResult
    ) -> list[tuple[tuple[IncomingMessage, Document], Scored]]:
        """One model call for the batch; if it fails, one call per document, dead-lettering those that fail.

        A failure is the document's only if the model still scores others: when every document
        fails and a known-good text fails too, the model itself is broken (``ClassifierUnavailable``),
        and out-of-memory is never a document's fault. Both propagate, so nothing is acked.
        """
        items = [(doc.text, plans[doc.doc_id].spans) for _, doc in fresh]
        try:
            return list(zip(fresh, predict_with_entities(classifier, items), strict=True))
        except MemoryError:
            raise
        except Exception:
            log.exception("classifying a batch of %d failed; retrying document by document", len(fresh))
        classified, failed = [], []
        for (message, doc), item in zip(fresh, items, strict=True):
            try:
                classified.append(((message, doc), predict_with_entities(classifier, [item])[0]))
            except MemoryError:
                raise
            except Exception as exc:
                failed.append((message, exc))
        if failed and not classified:
            _check_classifier_works(classifier)
        for message, error in failed:
            result.dead_letters.append(_dead_letter(message, f"classification failed: {type(error).__name__}: {error}"))
        return classified

    def _parse(self, messages: Sequence[IncomingMessage], result: BatchResult) -> Parsed:
        parsed = []
        latest = self.clock() + self.max_future_skew
        for message in messages:
            try:
                doc = parse_document(message.raw, message.kind, self.author_key)
            except InvalidMessage as exc:
                result.dead_letters.append(_dead_letter(message, exc.reason))
                continue
            if doc.event_time > latest:
                # A future date would sit at the top of every "newest" list and skew every window.
                reason = (f"event time in the future: {doc.event_time.isoformat()} is more than "
                          f"{self.max_future_skew.total_seconds():g} s ahead of the worker's clock")  # fmt: skip
                result.dead_letters.append(_dead_letter(message, reason))
                continue
            parsed.append((message, doc))
        return parsed

    def _dedupe(self, parsed: Parsed, result: BatchResult) -> Parsed:
        """Keep the first copy of each document id; a different document under a known id is dead-lettered."""
        stored = self.existing([doc.doc_id for _, doc in parsed]) if parsed else {}
        seen: dict[str, str] = dict(stored)
        fresh = []
        for message, doc in parsed:
            known_hash = seen.get(doc.doc_id)
            if known_hash is None:
                seen[doc.doc_id] = doc.content_hash
                fresh.append((message, doc))
            elif known_hash == doc.content_hash:
                result.duplicates += 1
                if doc.doc_id in stored:
                    result.replayed.append(doc.doc_id)
            else:
                reason = f"conflicting duplicate: id {doc.doc_id} was already stored with different content"
                result.dead_letters.append(_dead_letter(message, reason))
        return fresh

    def _rows(
        self,
        classified: list[tuple[tuple[IncomingMessage, Document], Scored]],
        plans: dict[str, SymbolMentions],
        story_of: dict[str, StoryFields],
        result: BatchResult,
    ) -> None:
        now = self.clock().replace(microsecond=0)
        for (_, doc), (prediction, entities) in classified:
            story = story_of[doc.doc_id]
            per_symbol = symbol_sentiments(plans[doc.doc_id], prediction, entities)
            result.documents.append(_document_row(doc, per_symbol, prediction, now, result.insert_token, story))
            for rank, symbol in enumerate(per_symbol or [document_sentiment(prediction)]):
                result.scores.append(_score(doc, symbol, prediction, now, doc_first=rank == 0, story=story))


def _done(value: dict[str, StoryFields]) -> Future[dict[str, StoryFields]]:
    done: Future[dict[str, StoryFields]] = Future()
    done.set_result(value)
    return done


def _read_entities(
    reader: Scorer, part: list[tuple[tuple[IncomingMessage, Document], Scored]], plans: dict[str, SymbolMentions]
) -> list[tuple[tuple[IncomingMessage, Document], Scored]]:
    """The mentions of ``part`` read by ``reader`` (the served model's entity head); copies if it fails."""
    items = [(doc.text, plans[doc.doc_id].spans) for (_, doc), _ in part]
    try:
        scored = with_entity_readings([pair[1] for pair in part], items, reader)
    except MemoryError:
        raise
    except Exception:
        log.exception("reading the mentions of %d documents failed; they keep the document's sentiment", len(part))
        return part
    return [(pair[0], read) for pair, read in zip(part, scored, strict=True)]


def _waited(message: IncomingMessage, now: float) -> float | None:
    return None if message.enqueued_at is None else max(0.0, now - message.enqueued_at)


def _check_classifier_works(classifier: Scorer) -> None:
    try:
        classifier.predict([CANARY_TEXT])
    except Exception as exc:
        raise ClassifierUnavailable(f"the classifier fails on a known-good text too: {exc}") from exc


def _dead_letter(message: IncomingMessage, reason: str) -> DeadLetter:
    return DeadLetter.for_message(message.raw, message.topic, message.partition, message.offset, reason)


_PREDICTION_FIELDS = {name: name for name in (
    "topic", "topic_confidence", "sentiment", "p_negative", "p_neutral", "p_positive", "score", "model_version",
)}  # fmt: skip
"""Record column: ``Prediction`` attribute, the document's prediction as stored."""
_SYMBOL_FIELDS = {
    "symbol_sentiment": "sentiment", "symbol_score": "score", "symbol_source": "source", "relevance": "relevance",
}  # fmt: skip
"""Record column: ``SymbolSentiment`` attribute, the text's sentiment toward one symbol."""


def _fields(value: object, columns: dict[str, str]) -> dict[str, Any]:
    """The record columns ``columns`` names, read from ``value``'s attributes."""
    return {column: getattr(value, attribute) for column, attribute in columns.items()}


def _score(
    doc: Document,
    symbol: SymbolSentiment,
    prediction: Prediction,
    now: datetime,
    doc_first: bool,
    story: StoryFields,
) -> ScoreRecord:
    """The (document, symbol) record: the document's prediction, the text's sentiment toward the symbol."""
    return ScoreRecord.model_construct(
        schema_version=1,
        doc_id=doc.doc_id,
        kind=doc.kind.value,
        source=doc.source,
        symbol=symbol.symbol,
        event_time=doc.event_time.replace(microsecond=0),
        ingested_at=now,
        headline=_clip(doc.headline or doc.text, HEADLINE_CHARS),
        doc_first=doc_first,
        story_id=story.story_id,
        novelty=story.novelty,
        **_fields(prediction, _PREDICTION_FIELDS),
        **_fields(symbol, _SYMBOL_FIELDS),
    )


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _document_row(
    doc: Document,
    symbols: list[SymbolSentiment],
    prediction: Prediction,
    now: datetime,
    insert_token: str,
    story: StoryFields,
) -> DocumentRow:
    """The document's row: its own prediction, and per symbol (parallel arrays) the text's sentiment toward it."""
    return DocumentRow.model_construct(
        doc_id=doc.doc_id,
        kind=doc.kind.value,
        source=doc.source,
        event_time=doc.event_time.replace(microsecond=0),
        ingested_at=now,
        headline=doc.headline,
        body=doc.body,
        url=doc.url,
        author_hash=doc.author_hash,
        symbols=[s.symbol for s in symbols],
        symbol_sentiments=[s.sentiment for s in symbols],
        symbol_scores=[s.score for s in symbols],
        symbol_sources=[s.source for s in symbols],
        relevances=[s.relevance for s in symbols],
        content_hash=doc.content_hash,
        likes=doc.likes,
        reposts=doc.reposts,
        replies=doc.replies,
        insert_token=insert_token,
        **story.model_dump(),
        **_fields(prediction, _PREDICTION_FIELDS),
    )
