"""The alert side of a worker: the ``evaluate_alerts`` agent and the Grafana delivery thread.

The classify agent (``streams.app``) sends each batch's alert inputs to ``finsent.alert-inputs``,
keyed so that each symbol's, topic's and the market's windows live in exactly one worker.
``evaluate_alerts`` feeds them to the rule engine (``alerts.engine``), stores fired alerts in
the outbox (the ``alerts`` table), emits them to ``finsent.alerts``, and only then acks. With
``FINSENT_GRAFANA_URL`` set, a thread delivers the outbox to Grafana as annotations.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import faust
from pydantic import ValidationError

from alerts.engine import AlertEngine, ClassMix
from alerts.grafana import Grafana
from alerts.history import StoreHistory
from alerts.outbox import Outbox, run_delivery
from alerts.rules import RuleBook
from config.components import AlertSettings, BatchSettings, TopicNames
from config.settings import mask_url
from schemas.alerts import ALERT_INPUTS, AlertInput
from storage import Store
from streams.app import WorkerStats, emit, exit_on_crash
from streams.handler import store_call

log = logging.getLogger(__name__)


@dataclass
class Alerting:
    """The rule engine and the outbox its alerts go to."""

    engine: AlertEngine
    outbox: Outbox


def start_alerting(
    settings: AlertSettings, store: Store, stack: ExitStack, reference_mix: Callable[[], ClassMix | None] = lambda: None
) -> Alerting:
    """The rule engine over the rules file, its outbox, and (with FINSENT_GRAFANA_URL) the delivery thread.

    ``reference_mix`` gives the serving model's validation class mix, for ``model_psi`` rules.
    """
    book = RuleBook(settings.rules_file)
    log.info("alert rules: %d from %s (watching %s)", len(book.rules), book.source, book.path)
    grafana = Grafana.from_settings(settings.grafana) if settings.grafana.url else None
    outbox = Outbox(store, grafana)
    if grafana is not None:
        stop = threading.Event()
        thread = threading.Thread(target=run_delivery, args=(outbox, stop), name="alert-delivery", daemon=True)
        thread.start()
        stack.callback(thread.join, timeout=10)
        stack.callback(stop.set)
        log.info("delivering alerts to Grafana at %s", mask_url(grafana.url))
    else:
        log.info("FINSENT_GRAFANA_URL is unset: alerts are stored and stay pending for a later delivery")
    return Alerting(AlertEngine(lambda: book.rules, StoreHistory(store), reference_mix), outbox)


def add_alert_agent(
    app: faust.App, topics: TopicNames, batching: BatchSettings, alerting: Alerting, stats: WorkerStats
) -> None:
    """The ``evaluate_alerts`` agent: inputs → rule engine → outbox → ``finsent.alerts`` → ack."""
    alert_inputs = app.topic(topics.alert_inputs, value_type=bytes, key_type=bytes)
    alerts_topic = app.topic(topics.alerts, value_type=bytes, key_type=bytes)
    assignment: set[Any] = set()

    async def handle_alert_batch(inputs: list[AlertInput]) -> None:
        fired = await store_call("alert history", alerting.engine.observe, inputs)
        if fired:
            await store_call("store alerts", alerting.outbox.enqueue, fired)
            await emit(alerts_topic, fired, lambda alert: alert.alert_id.encode())
            for alert in fired:
                log.warning(
                    "alert %s on %s: %s = %.3f", alert.rule_id, alert.scope_key or "market", alert.metric, alert.value
                )
        stats.alerts_fired += len(fired)
        stats.alert_keys = alerting.engine.keys

    @app.agent(alert_inputs, name="evaluate_alerts")
    @exit_on_crash
    async def evaluate_alerts(stream: faust.StreamT) -> None:
        batches = stream.noack_take(batching.max_size, within=batching.max_wait_s)  # type: ignore[attr-defined]
        async for events in batches:
            current = set(app.consumer.assignment())
            if current != assignment:
                # Keys may have moved between workers: rebuild each from the store when next seen.
                assignment.clear()
                assignment.update(current)
                alerting.engine.reset()
            await handle_alert_batch(parse_alert_inputs(events))
            for event in events:
                await stream.ack(event)


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
