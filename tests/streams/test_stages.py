"""StageTimer: per-stage totals per message, the consume gap, and every stage of a real batch timed once."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from schemas import DocumentKind
from streams.pipeline import IncomingMessage
from streams.stages import STAGES, StageCollector, StageTimer
from tests.streams.test_batch_handler import Journal, _handler, _run
from tests.streams.test_pipeline import news


class RecordingTimer(StageTimer):
    """A timer that also lists the stages it was given, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def add(self, name: str, wall_s: float, cpu_s: float) -> None:
        super().add(name, wall_s, cpu_s)
        self.seen.append(name)


def test_per_message_divides_each_stage_by_the_messages_of_every_batch() -> None:
    timer = StageTimer()
    timer.batch_started(messages=100)
    timer.add("parse", wall_s=0.002, cpu_s=0.001)
    timer.batch_ended()
    timer.batch_started(messages=100)
    timer.add("parse", wall_s=0.002, cpu_s=0.001)
    figures = timer.per_message()
    assert figures["parse"] == {"wall_us": 20.0, "cpu_us": 10.0}
    assert figures["store"] == {"wall_us": 0.0, "cpu_us": 0.0}
    assert list(figures) == list(STAGES)


def test_only_the_gap_between_batches_is_consume() -> None:
    timer = StageTimer()
    timer.batch_started(messages=10)  # no batch before it: start-up is not consume
    assert timer.totals()[2]["consume"] == 0.0
    timer.batch_ended()
    timer.batch_started(messages=10)
    batches, messages, wall, _ = timer.totals()
    assert (batches, messages) == (2, 20)
    assert wall["consume"] > 0.0


def test_a_stage_that_raises_is_still_counted() -> None:
    timer = RecordingTimer()
    with pytest.raises(RuntimeError), timer.stage("store"):
        raise RuntimeError("store down")
    assert timer.seen == ["store"]


def test_an_unknown_stage_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown stage 'parsing'"):
        StageTimer().add("parsing", 0.0, 0.0)


def test_a_batch_passes_the_stages_in_order_and_the_store_twice() -> None:
    journal = Journal()
    handler, _, _ = _handler(journal)
    timer = RecordingTimer()
    handler.processor.timer = timer
    _run(handler, journal, [news("n1", "Apple shares rise"), news("n2", "Tesla shares fall")])
    # Stories are assigned beside classify (in their own thread, when there is an index): once, before rows.
    assert timer.seen.count("stories") == 1 and timer.seen.index("stories") < timer.seen.index("rows")
    stages = ["parse", "dedupe", "mentions", "classify", "rows", "store", "produce", "store", "ack"]
    assert [name for name in timer.seen if name != "stories"] == stages  # scores and dead letters, then the documents


def test_a_batch_of_bad_messages_skips_the_stages_of_documents() -> None:
    journal = Journal()
    handler, _, _ = _handler(journal)
    timer = RecordingTimer()
    handler.processor.timer = timer
    _run(handler, journal, [IncomingMessage(b"not json", "finsent.news", 0, 9, DocumentKind.NEWS)])
    assert timer.seen == ["parse", "dedupe", "store", "produce", "store", "ack"]


def test_the_totals_are_prometheus_counters() -> None:
    timer = StageTimer()
    timer.batch_started(messages=4)
    timer.add("classify", wall_s=0.5, cpu_s=0.25)
    registry = CollectorRegistry()
    registry.register(StageCollector(timer))
    text = generate_latest(registry).decode()
    assert 'finsent_stage_seconds_total{clock="wall",stage="classify"} 0.5' in text
    assert 'finsent_stage_seconds_total{clock="cpu",stage="classify"} 0.25' in text
    assert "finsent_stage_messages_total 4.0" in text
