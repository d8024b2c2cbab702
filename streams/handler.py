"""The delivery contract of one batch, as an object: what is written, in which order, and when it is acked.

Per batch, in this order (so a crash at any point loses nothing and stores nothing twice):

1. parse, dedupe against the store, classify (``BatchProcessor``, in a worker thread);
2. insert the score rows and dead letters (idempotent: ReplacingMergeTree on a deterministic key);
3. emit scores, dead letters and alert inputs to Kafka and wait for the broker's acknowledgement;
4. replay the recent inserts of documents delivered again (a crash inside an insert can leave
   the rollup views without it; see ``Store.redo_recent_inserts``);
5. insert the document rows: the commit marker; a retried batch skips documents found here;
6. ack the events, so their offsets are committed.

A store that is down is retried with backoff at every step (consumption pauses meanwhile). Any
other failure propagates before the ack: the worker exits and the batch is redone after the
restart. Only messages that are themselves bad become dead letters.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import orjson
from pydantic import BaseModel

from schemas import DeadLetter, ScoreRecord
from schemas.alerts import AlertInput
from schemas.records import DeadLetterRow, DocumentRow
from storage import StoreUnavailable
from streams.exceptions import MessageTooLarge
from streams.pipeline import BatchProcessor, BatchResult, IncomingMessage
from streams.retry import retry_async
from streams.stages import StageTimer

log = logging.getLogger(__name__)
T = TypeVar("T")
ALERT_INPUTS_PER_MESSAGE = 500
Message = tuple[bytes | None, bytes]


class BatchStore(Protocol):
    """The store operations a batch needs (``storage.Store`` has them)."""

    def insert_scores(self, scores: Sequence[ScoreRecord]) -> None: ...

    def insert_documents(self, documents: Sequence[DocumentRow]) -> None: ...

    def insert_dead_letters(self, rows: Sequence[DeadLetterRow]) -> None: ...

    def redo_recent_inserts(self, doc_ids: Sequence[str]) -> int: ...


class BatchProducer(Protocol):
    """Sends messages to a topic and returns once the broker has acknowledged them all.

    A message refused for its size raises ``MessageTooLarge``.
    """

    async def send(self, topic: str, messages: Sequence[Message]) -> None: ...


@dataclass(frozen=True)
class OutputTopics:
    scores: str
    dead_letters: str
    alert_inputs: str | None
    """``None`` when alerting is off: no alert inputs are sent."""


async def store_call(what: str, function: Callable[..., T], *args: Any) -> T:
    """``function(*args)`` in an executor thread, retried with backoff while the store is unavailable."""
    loop = asyncio.get_running_loop()
    return await retry_async(lambda: loop.run_in_executor(None, function, *args), StoreUnavailable, what)


@dataclass(eq=False, repr=False)
class BatchHandler:
    """Owns the write order of a batch: scores → emit → replay → documents → ack."""

    store: BatchStore
    producer: BatchProducer
    processor: BatchProcessor
    topics: OutputTopics

    async def handle(self, messages: Sequence[IncomingMessage], ack: Callable[[], Awaitable[None]]) -> BatchResult:
        """Process, write and emit one batch, then ``ack``; raises (without acking) on a lasting failure."""
        # Parsing and dedupe read the store: a store outage is retried here too, not a crash.
        result = await store_call("dedupe and classify", self.processor.process, messages)
        await store_call("store scores", self._timed_store, self._write_scores_and_dead_letters, result)
        with self.timer.stage("produce"):
            await asyncio.gather(
                self.producer.send(self.topics.scores, [(r.symbol.encode(), _json(r)) for r in result.scores]),
                self._send_dead_letters(result.dead_letters),
                self._send_alert_inputs(result.scores),
            )
        if result.replayed:  # delivered again, so possibly after a crash inside their insert
            await store_call(
                "complete interrupted inserts", self._timed_store, self.store.redo_recent_inserts, result.replayed
            )
        await store_call("store documents", self._timed_store, self.store.insert_documents, result.documents)
        with self.timer.stage("ack"):
            await ack()
        return result

    @property
    def timer(self) -> StageTimer:
        """The pipeline's stage timer (the processor's: one per worker)."""
        return self.processor.timer

    def _timed_store(self, function: Callable[..., T], *args: Any) -> T:
        """``function(*args)`` timed as the ``store`` stage, in the executor thread that runs it."""
        with self.timer.stage("store"):
            return function(*args)

    def _write_scores_and_dead_letters(self, result: BatchResult) -> None:
        self.store.insert_scores(result.scores)
        self.store.insert_dead_letters([DeadLetterRow.of(letter) for letter in result.dead_letters])

    async def _send_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        """Send ``letters``; one refused for its size goes again without its copy of the message.

        A dead letter carries at most ``DEAD_LETTER_RAW_BYTES`` of its message, so this happens
        only on a topic whose size limit is smaller still; the letter then says so in its error,
        and the whole message stays in its source topic at its offset.
        """
        try:
            await self.producer.send(self.topics.dead_letters, [(None, _json(letter)) for letter in letters])
        except MessageTooLarge as exc:
            log.warning("a dead letter too large for %s (%s): sending one by one", self.topics.dead_letters, exc)
            for letter in letters:
                await self._send_one_dead_letter(letter)

    async def _send_one_dead_letter(self, letter: DeadLetter) -> None:
        try:
            await self.producer.send(self.topics.dead_letters, [(None, _json(letter))])
        except MessageTooLarge as exc:
            smaller = letter.without_raw(f"copy of the message left out: {exc}")
            await self.producer.send(self.topics.dead_letters, [(None, _json(smaller))])

    async def _send_alert_inputs(self, scores: Sequence[ScoreRecord]) -> None:
        if self.topics.alert_inputs is not None:
            await self.producer.send(self.topics.alert_inputs, alert_input_messages(scores))


def _json(record: BaseModel) -> bytes:
    return record.model_dump_json().encode()


def alert_input_messages(scores: Sequence[ScoreRecord]) -> list[Message]:
    """``finsent.alert-inputs`` messages for ``scores``: per key, its inputs in order, in arrays of
    at most ``ALERT_INPUTS_PER_MESSAGE`` (a batch's market key holds one input per document).

    One message per key and batch, not per document: Faust's cost is per message, and a
    document has three keys (its symbol, its topic and the market).
    """
    by_key: dict[str, list[dict[str, Any]]] = {}
    for score in scores:
        for key, fields in AlertInput.fields_of(score):
            by_key.setdefault(key, []).append(fields)
    return [
        (key.encode(), orjson.dumps(inputs[start : start + ALERT_INPUTS_PER_MESSAGE]))
        for key, inputs in by_key.items()
        for start in range(0, len(inputs), ALERT_INPUTS_PER_MESSAGE)
    ]


__all__ = [
    "ALERT_INPUTS_PER_MESSAGE",
    "BatchHandler",
    "BatchProducer",
    "BatchStore",
    "DeadLetter",
    "OutputTopics",
    "alert_input_messages",
    "store_call",
]
