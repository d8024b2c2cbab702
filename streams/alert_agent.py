"""The ``evaluate_alerts`` agent: the alert side of a worker, on the same Faust plumbing as the classify agent.

The classify agent sends each batch's alert inputs to ``finsent.alert-inputs``, keyed so that each
symbol's, topic's and the market's windows live in exactly one worker. Per batch of them, in this
order (a crash before the ack redoes the batch; alert ids are deterministic, so the outbox keeps
each alert once, though ``finsent.alerts`` may see one twice):

1. the rule engine observes the inputs (reading its keys' history from the store when new);
2. fired alerts go to the outbox (the ``alerts`` table; idempotent by ``alert_id``);
3. they are emitted to ``finsent.alerts`` and the broker has acknowledged them;
4. the events are acked.

The engine and the outbox come from ``alerts`` (through the protocols below: this module imports
nothing of it); the CLI's worker puts them together.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import faust
from pydantic import ValidationError

from config.components import BatchSettings, TopicNames
from schemas.alerts import ALERT_INPUTS, AlertInput, AlertRecord
from streams.faust_io import FaustProducer, ack_events, exit_on_crash, take_batches
from streams.handler import BatchProducer, store_call
from streams.stats import WorkerStats

log = logging.getLogger(__name__)


class AlertRules(Protocol):
    """The rule engine (``alerts.engine.AlertEngine``): inputs in, fired alerts out."""

    @property
    def keys(self) -> int:
        """How many keys (symbols, topics, the market) it holds windows for."""
        ...

    def observe(self, inputs: Sequence[AlertInput]) -> list[AlertRecord]: ...

    def reset(self) -> None: ...


class AlertQueue(Protocol):
    """The outbox (``alerts.outbox.Outbox``): stores fired alerts until they are delivered."""

    def enqueue(self, alerts: Sequence[AlertRecord]) -> int: ...


@dataclass(eq=False, repr=False)
class AlertHandler:
    """Owns the order of a batch of alert inputs: observe → outbox → emit → ack."""

    rules: AlertRules
    outbox: AlertQueue
    producer: BatchProducer
    topic: str
    _assignment: frozenset[Any] = field(default=frozenset(), init=False)

    def assigned(self, partitions: Iterable[Any]) -> None:
        """Note the worker's partitions; when they changed, the engine forgets every key, since keys
        may have moved between workers (each is rebuilt from the store when next seen)."""
        current = frozenset(partitions)
        if current != self._assignment:
            self._assignment = current
            self.rules.reset()

    async def handle(self, inputs: Sequence[AlertInput], ack: Callable[[], Awaitable[None]]) -> list[AlertRecord]:
        """Evaluate, store and emit one batch's alerts, then ``ack``; raises (without acking) on a lasting failure."""
        fired = await store_call("alert history", self.rules.observe, inputs)
        if fired:
            await store_call("store alerts", self.outbox.enqueue, fired)
            await self.producer.send(
                self.topic, [(alert.alert_id.encode(), alert.model_dump_json().encode()) for alert in fired]
            )
            for alert in fired:
                log.warning(
                    "alert %s on %s: %s = %.3f", alert.rule_id, alert.scope_key or "market", alert.metric, alert.value
                )
        await ack()
        return fired


def add_alert_agent(
    app: faust.App,
    topics: TopicNames,
    batching: BatchSettings,
    rules: AlertRules,
    outbox: AlertQueue,
    stats: WorkerStats,
) -> None:
    """The ``evaluate_alerts`` agent: ``finsent.alert-inputs`` → ``AlertHandler`` → ``finsent.alerts``."""
    alert_inputs = app.topic(topics.alert_inputs, value_type=bytes, key_type=bytes)
    handler = AlertHandler(rules, outbox, FaustProducer(app), topics.alerts)

    @app.agent(alert_inputs, name="evaluate_alerts")
    @exit_on_crash
    async def evaluate_alerts(stream: faust.StreamT) -> None:
        async for events in take_batches(stream, batching):
            handler.assigned(app.consumer.assignment())
            fired = await handler.handle(parse_alert_inputs(events), ack_events(stream, events))
            stats.alerts_fired += len(fired)
            stats.alert_keys = rules.keys


def parse_alert_inputs(events: Sequence[faust.types.EventT]) -> list[AlertInput]:
    """The inputs of ``finsent.alert-inputs`` messages, in order; a message that does not parse is
    logged and skipped, not retried forever (only finsent writes this topic)."""
    parsed: list[AlertInput] = []
    for event in events:
        try:
            parsed += ALERT_INPUTS.validate_json(event.value)
        except ValidationError as exc:
            log.error(
                "skipping an invalid record at %s[%d]@%d: %s",
                event.message.topic,
                event.message.partition,
                event.message.offset,
                exc.errors()[0]["msg"] if exc.errors() else exc,
            )
    return parsed
