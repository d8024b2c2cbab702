"""BatchHandler: the write order of a batch and what each failure does, with a fake store and producer.

No broker and no ClickHouse: the delivery contract is checked in milliseconds here, and by
SIGKILL in the chaos tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from models import NullClassifier, Prediction
from schemas import DeadLetter, ScoreRecord
from schemas.records import DEAD_LETTER_RAW_BYTES, DeadLetterRow, DocumentRow
from storage import StoreError, StoreUnavailable
from streams import retry
from streams.exceptions import MessageTooLarge
from streams.handler import BatchHandler, OutputTopics
from streams.pipeline import BatchProcessor, BatchResult, ClassifierUnavailable
from tests.streams.test_pipeline import NOW, news

TOPICS = OutputTopics(scores="scores", dead_letters="dead", alert_inputs="alert-inputs")
STEPS = ["write_scores", "insert_dead_letters", "send", "redo_recent_inserts", "write_documents", "ack"]


@dataclass
class Journal:
    """Every side effect, in the order it happened."""

    calls: list[str] = field(default_factory=list)


class Steps:
    """Journals each step, unless it is made to fail: ``unavailable_for`` times, then for good with ``fail``."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.fail: dict[str, BaseException] = {}
        self.unavailable_for: dict[str, int] = {}

    def step(self, name: str) -> None:
        if self.unavailable_for.get(name, 0) > 0:
            self.unavailable_for[name] -= 1
            raise StoreUnavailable(f"{name}: connection refused")
        if name in self.fail:
            raise self.fail[name]
        self.journal.calls.append(name)


class FakeStore(Steps):
    def __init__(self, journal: Journal, stored: dict[str, str] | None = None):
        super().__init__(journal)
        self.stored = dict(stored or {})

    def existing(self, doc_ids: Sequence[str]) -> dict[str, str]:
        return {i: self.stored[i] for i in doc_ids if i in self.stored}

    def insert_scores(self, scores: Sequence[ScoreRecord]) -> None:
        self.step("write_scores")

    def insert_documents(self, documents: Sequence[DocumentRow]) -> None:
        self.step("write_documents")
        for row in documents:
            self.stored[row.doc_id] = row.content_hash

    def insert_dead_letters(self, rows: Sequence[DeadLetterRow]) -> None:
        self.step("insert_dead_letters")

    def redo_recent_inserts(self, doc_ids: Sequence[str]) -> int:
        self.step("redo_recent_inserts")
        return len(doc_ids)


class FakeProducer:
    def __init__(self, journal: Journal):
        self.journal = journal
        self.sent: dict[str, list[tuple[bytes | None, bytes]]] = {}
        self.fail: BaseException | None = None
        self.max_message_bytes = 1_000_000
        """Like a topic's ``max.message.bytes``: a larger message fails the whole send."""

    async def send(self, topic: str, messages: Sequence[tuple[bytes | None, bytes]]) -> None:
        await asyncio.sleep(0)
        if self.fail is not None:
            raise self.fail
        largest = max((len(value) for _, value in messages), default=0)
        if largest > self.max_message_bytes:
            raise MessageTooLarge(f"The message is {largest} bytes")
        if "send" not in self.journal.calls:
            self.journal.calls.append("send")
        self.sent.setdefault(topic, []).extend(messages)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    original = retry.retry_async

    async def fast(action, transient, what, first_delay_s=0.5, max_delay_s=30.0):  # type: ignore[no-untyped-def]
        return await original(action, transient, what, first_delay_s=0.001, max_delay_s=0.002)

    monkeypatch.setattr("streams.handler.retry_async", fast)


def _handler(
    journal: Journal, stored: dict[str, str] | None = None, classifier: object = None
) -> tuple[BatchHandler, FakeStore, FakeProducer]:
    store = FakeStore(journal, stored)
    producer = FakeProducer(journal)
    processor = BatchProcessor(classifier or NullClassifier(), store.existing, clock=lambda: NOW)  # type: ignore[arg-type]
    return BatchHandler(store, producer, processor, TOPICS), store, producer


def _run(handler: BatchHandler, journal: Journal, messages: list) -> BatchResult:  # type: ignore[type-arg]
    async def ack() -> None:
        journal.calls.append("ack")

    return asyncio.run(handler.handle(messages, ack))


def test_writes_in_order_then_acks() -> None:
    journal = Journal()
    handler, _, producer = _handler(journal)
    result = _run(handler, journal, [news("n1", "Acme shares plunge", tickers=["ACME"]), news("n2", "Globex beats")])
    assert journal.calls == ["write_scores", "insert_dead_letters", "send", "write_documents", "ack"]
    assert len(result.documents) == 2
    assert len(producer.sent["scores"]) == len(result.scores)
    assert {key for key, _ in producer.sent["alert-inputs"]} >= {b"symbol:ACME", b"all:"}


def test_a_batch_delivered_again_replays_inserts_before_the_documents() -> None:
    journal = Journal()
    handler, _, _ = _handler(journal)
    batch = [news("n1", "Acme shares plunge")]
    _run(handler, journal, batch)
    journal.calls.clear()
    result = _run(handler, journal, batch)
    assert result.replayed == ["news:wire:n1"] and result.documents == []
    assert journal.calls == STEPS


@pytest.mark.parametrize("failing", ["write_scores", "insert_dead_letters", "redo_recent_inserts", "write_documents"])
def test_a_lasting_store_failure_at_any_step_stops_before_the_ack(failing: str) -> None:
    journal = Journal()
    handler, store, _ = _handler(journal)
    batch = [news("n1", "Acme shares plunge")]
    if failing == "redo_recent_inserts":
        _run(handler, journal, batch)  # stored once: the next delivery is a replay
        journal.calls.clear()
    store.fail[failing] = StoreError("disk full")
    with pytest.raises(StoreError):
        _run(handler, journal, batch)
    steps = STEPS if failing == "redo_recent_inserts" else [s for s in STEPS if s != "redo_recent_inserts"]
    assert journal.calls == steps[: steps.index(failing)]


def test_a_store_outage_is_waited_out_and_the_batch_acked_once() -> None:
    journal = Journal()
    handler, store, _ = _handler(journal)
    store.unavailable_for = {"write_scores": 2, "write_documents": 3}
    _run(handler, journal, [news("n1", "Acme shares plunge")])
    assert journal.calls == ["write_scores", "insert_dead_letters", "send", "write_documents", "ack"]


def test_a_broker_failure_stores_no_documents_and_acks_nothing() -> None:
    journal = Journal()
    handler, store, producer = _handler(journal)
    producer.fail = ConnectionError("broker gone")
    with pytest.raises(ConnectionError):
        _run(handler, journal, [news("n1", "Acme shares plunge")])
    assert journal.calls == ["write_scores", "insert_dead_letters"]
    assert store.stored == {}


def test_bad_messages_become_dead_letters_and_the_batch_is_acked() -> None:
    journal = Journal()
    handler, _, producer = _handler(journal)
    result = _run(handler, journal, [news("n1", "Acme shares plunge"), news("n2", "")])
    assert len(result.dead_letters) == 1 and len(result.documents) == 1
    assert len(producer.sent["dead"]) == 1
    assert journal.calls[-1] == "ack"


class BrokenClassifier:
    """A backend that fails on every input: a lost GPU, a corrupt model file."""

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        raise RuntimeError("CUDA error: device lost")


class OutOfMemory:
    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        raise MemoryError("cannot allocate")


@pytest.mark.parametrize(
    ("classifier", "error"), [(BrokenClassifier(), ClassifierUnavailable), (OutOfMemory(), MemoryError)]
)
def test_a_broken_classifier_dead_letters_nothing_and_acks_nothing(classifier: object, error: type) -> None:
    journal = Journal()
    handler, store, producer = _handler(journal, classifier=classifier)
    with pytest.raises(error):
        _run(handler, journal, [news("n1", "Acme shares plunge"), news("n2", "Globex beats")])
    assert journal.calls == [] and producer.sent == {} and store.stored == {}


class OnePoisonText:
    def __init__(self) -> None:
        self.inner = NullClassifier()

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if any("POISON" in t for t in texts):
            raise ValueError("cannot tokenise")
        return self.inner.predict(texts)


def test_a_lone_poison_document_is_dead_lettered_when_the_model_still_works() -> None:
    journal = Journal()
    handler, _, producer = _handler(journal, classifier=OnePoisonText())
    result = _run(handler, journal, [news("n1", "POISON pill")])
    (letter,) = result.dead_letters
    assert "classification failed: ValueError" in letter.error
    assert journal.calls[-1] == "ack" and len(producer.sent["dead"]) == 1


def test_alerting_off_sends_no_alert_inputs() -> None:
    journal = Journal()
    store, producer = FakeStore(journal), FakeProducer(journal)
    processor = BatchProcessor(NullClassifier(), store.existing, clock=lambda: NOW)
    handler = BatchHandler(store, producer, processor, OutputTopics("scores", "dead", None))
    _run(handler, journal, [news("n1", "Acme shares plunge", tickers=["ACME"])])
    assert "alert-inputs" not in producer.sent


def _poison_between_two_valid() -> list:  # type: ignore[type-arg]
    """The hostile-input report's case: an 840,000-character body (under Kafka's 1 MB) between two valid news."""
    return [news("n1", "Acme beats"), news("n2", "Acme report", body="x" * 840_000), news("n3", "Globex misses")]


def test_a_message_near_the_size_limit_gives_a_bounded_dead_letter_and_the_batch_goes_on() -> None:
    journal = Journal()
    handler, store, producer = _handler(journal)
    result = _run(handler, journal, _poison_between_two_valid())
    assert set(store.stored) == {"news:wire:n1", "news:wire:n3"} and journal.calls[-1] == "ack"
    ((_, value),) = producer.sent["dead"]
    letter = DeadLetter.model_validate_json(value)
    assert len(value) < 2 * DEAD_LETTER_RAW_BYTES and letter.truncated
    assert (letter.offset, letter.raw_bytes) == (2, len(_poison_between_two_valid()[1].raw))
    assert "body" in letter.error and len(result.dead_letters) == 1


def test_a_dead_letter_the_topic_still_refuses_is_sent_without_its_copy() -> None:
    journal = Journal()
    handler, store, producer = _handler(journal)
    producer.max_message_bytes = 4_000
    _run(handler, journal, [*_poison_between_two_valid(), news("n4", "")])
    letters = [DeadLetter.model_validate_json(value) for _, value in producer.sent["dead"]]
    by_offset = {letter.offset: letter for letter in letters}
    assert sorted(by_offset) == [2, 4] and len(letters) == 2
    assert by_offset[2].raw == b"" and "copy of the message left out" in by_offset[2].error
    assert by_offset[4].raw == news("n4", "").raw  # small enough: keeps its copy
    assert set(store.stored) == {"news:wire:n1", "news:wire:n3"} and journal.calls[-1] == "ack"
