"""AlertHandler: the order of a batch of alert inputs and what each failure does, with fakes.

No broker, no ClickHouse and no rule files: the engine, the outbox and the producer are fakes
that journal their calls, as in ``test_batch_handler``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from schemas.alerts import AlertInput, AlertRecord
from storage import StoreError
from streams.alert_agent import AlertHandler
from tests.streams.test_alert_inputs import score
from tests.streams.test_batch_handler import FakeProducer, Journal, Steps, quick_retries

__all__ = ["quick_retries"]  # the fixture makes store retries instant here too

STEPS = ["observe", "enqueue", "send", "ack"]
FIRED = AlertRecord(
    rule_id="nvda-drop", severity="critical", scope="symbol", symbol="NVDA", metric="mean_score",
    comparison="<", value=-0.7, threshold=-0.5, window_s=300, doc_count=12,
    fired_at=datetime(2026, 11, 24, 9, 35, tzinfo=UTC),
)  # fmt: skip
INPUTS = [AlertInput.model_validate(fields) for _, fields in AlertInput.fields_of(score(0, "NVDA"))]


class FakeRules:
    def __init__(self, steps: Steps, fired: list[AlertRecord]) -> None:
        self.steps = steps
        self.fired = fired
        self.seen: list[AlertInput] = []
        self.resets = 0

    @property
    def keys(self) -> int:
        return len({i.partition_key for i in self.seen})

    def observe(self, inputs: Sequence[AlertInput]) -> list[AlertRecord]:
        self.steps.step("observe")
        self.seen += inputs
        return self.fired

    def reset(self) -> None:
        self.resets += 1


class FakeOutbox:
    def __init__(self, steps: Steps) -> None:
        self.steps = steps
        self.stored: dict[str, AlertRecord] = {}

    def enqueue(self, alerts: Sequence[AlertRecord]) -> int:
        self.steps.step("enqueue")
        new = {a.alert_id: a for a in alerts if a.alert_id not in self.stored}
        self.stored.update(new)
        return len(new)


def _handler(fired: list[AlertRecord]) -> tuple[AlertHandler, Journal, Steps, FakeOutbox, FakeProducer]:
    journal = Journal()
    steps = Steps(journal)
    outbox, producer = FakeOutbox(steps), FakeProducer(journal)
    return AlertHandler(FakeRules(steps, fired), outbox, producer, "alerts"), journal, steps, outbox, producer


def _run(handler: AlertHandler, journal: Journal, inputs: list[AlertInput]) -> list[AlertRecord]:
    async def ack() -> None:
        journal.calls.append("ack")

    return asyncio.run(handler.handle(inputs, ack))


def test_stores_then_emits_the_fired_alerts_then_acks() -> None:
    handler, journal, _, outbox, producer = _handler([FIRED])
    assert _run(handler, journal, INPUTS) == [FIRED]
    assert journal.calls == STEPS
    assert list(outbox.stored) == [FIRED.alert_id]
    [(key, value)] = producer.sent["alerts"]
    assert key == FIRED.alert_id.encode() and AlertRecord.model_validate_json(value) == FIRED


def test_a_batch_that_fires_nothing_is_acked_without_outbox_or_emit() -> None:
    handler, journal, _, _, producer = _handler([])
    assert _run(handler, journal, INPUTS) == []
    assert journal.calls == ["observe", "ack"] and producer.sent == {}


@pytest.mark.parametrize("failing", ["observe", "enqueue"])
def test_a_lasting_store_failure_at_any_step_stops_before_the_ack(failing: str) -> None:
    handler, journal, steps, _, producer = _handler([FIRED])
    steps.fail[failing] = StoreError("disk full")
    with pytest.raises(StoreError):
        _run(handler, journal, INPUTS)
    assert journal.calls == STEPS[: STEPS.index(failing)]
    assert producer.sent == {}


def test_a_broker_failure_acks_nothing_and_keeps_the_alert_in_the_outbox() -> None:
    handler, journal, _, outbox, producer = _handler([FIRED])
    producer.fail = ConnectionError("broker gone")
    with pytest.raises(ConnectionError):
        _run(handler, journal, INPUTS)
    assert journal.calls == ["observe", "enqueue"]
    assert list(outbox.stored) == [FIRED.alert_id]  # the redone batch finds it there: stored once


def test_a_store_outage_is_waited_out_and_the_batch_acked_once() -> None:
    handler, journal, steps, _, _ = _handler([FIRED])
    steps.unavailable_for = {"observe": 2, "enqueue": 3}
    _run(handler, journal, INPUTS)
    assert journal.calls == STEPS


def test_the_engine_forgets_its_keys_only_when_the_partitions_change() -> None:
    handler, *_ = _handler([])
    rules = handler.rules
    assert isinstance(rules, FakeRules)
    handler.assigned(["p0", "p1"])
    handler.assigned(["p1", "p0"])
    assert rules.resets == 1
    handler.assigned(["p0"])
    assert rules.resets == 2
