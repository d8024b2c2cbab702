"""The Faust app of a worker: its configuration, the classify agent and the stats endpoints.

The classify agent takes batches (``streams.faust_io.take_batches``) and hands each to
``BatchHandler`` (``streams.handler``), which owns the write order and acks only after the batch
is durable. With alerting on, the handler also sends each batch's alert inputs to
``finsent.alert-inputs``, which the ``evaluate_alerts`` agent (``streams.alert_agent``) reads.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import faust
from faust.types import EventT

from config.components import BatchSettings, KafkaSettings, TopicNames
from config.kafka import KafkaSecurity
from schemas import DocumentKind
from schemas.records import BatchRow
from storage import Store, StoreError
from streams.faust_io import Events, FaustProducer, ack_events, consumer_lag, exit_on_crash, take_batches
from streams.handler import BatchHandler, OutputTopics
from streams.pipeline import BatchProcessor, BatchResult, IncomingMessage
from streams.stats import WorkerStats, add_stats_endpoints
from streams.transport import use_fetch_max_wait

log = logging.getLogger(__name__)
BatchDone = Callable[[Events, list[IncomingMessage], BatchResult, float], None]
"""Called with a batch's events, their messages, its result and its seconds once it is stored and acked."""


def create_app(
    kafka: KafkaSettings,
    batching: BatchSettings,
    data_dir: Path,
    bootstrap: str,
    store: Store,
    processor: BatchProcessor,
    web_port: int,
    send_alert_inputs: bool = False,
    after_batch: Callable[[BatchResult], None] | None = None,
) -> tuple[faust.App, WorkerStats]:
    """Build the Faust app with the classify agent (``streams.alert_agent`` adds the rule engine's agent).

    ``after_batch`` sees each batch once it is stored and acked (shadow scoring); it must not block.
    """
    app = faust_app(kafka, data_dir, bootstrap, web_port)
    stats = WorkerStats()
    figures = BatchFigures(app, store)
    topics = OutputTopics(
        scores=kafka.topics.scores,
        dead_letters=kafka.topics.dead_letters,
        alert_inputs=kafka.topics.alert_inputs if send_alert_inputs else None,
    )

    def batch_done(events: Events, messages: list[IncomingMessage], result: BatchResult, seconds: float) -> None:
        stats.record(len(events), result, seconds, (message.enqueued_at for message in messages))
        figures.record(events, result, seconds)
        if after_batch is not None:
            after_batch(result)

    handler = BatchHandler(store, FaustProducer(app), processor, topics)
    add_classify_agent(app, kafka.topics, batching, handler, batch_done)
    add_stats_endpoints(app, stats, store, processor.router, processor.timer)
    return app, stats


def faust_app(kafka: KafkaSettings, data_dir: Path, bootstrap: str, web_port: int) -> faust.App:
    """A Faust app for ``kafka`` with raw keys and values, acks from all replicas and its web page on localhost."""
    (data_dir / "faust").mkdir(parents=True, exist_ok=True)
    app = faust.App(
        kafka.consumer_group,
        broker=f"kafka://{bootstrap}",
        broker_credentials=broker_credentials(kafka.security),
        broker_session_timeout=kafka.session_timeout_s,
        broker_heartbeat_interval=min(3.0, kafka.session_timeout_s / 3),
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=kafka.partitions,
        consumer_auto_offset_reset="earliest",
        datadir=str(data_dir / "faust"),
        store="memory://",
        web_host="127.0.0.1",
        web_port=web_port,
        web_bind="127.0.0.1",
        producer_acks=-1,
    )
    use_fetch_max_wait(app, kafka.fetch_max_wait_ms)
    return app


def add_classify_agent(
    app: faust.App, topics: TopicNames, batching: BatchSettings, handler: BatchHandler, done: BatchDone
) -> None:
    """The ``classify`` agent: batches of the input topics through ``handler``, then ``done``."""
    kinds = {topic: DocumentKind(kind) for kind, topic in topics.inputs().items()}
    inputs = app.topic(*kinds, value_type=bytes, key_type=bytes)

    @app.agent(inputs, name="classify")
    @exit_on_crash
    async def classify(stream: faust.StreamT) -> None:
        async for events in take_batches(stream, batching):
            started = time.monotonic()
            messages = [
                IncomingMessage(
                    e.value, e.message.topic, e.message.partition, e.message.offset, kinds[e.message.topic],
                    enqueued_at(e),
                )
                for e in events
            ]  # fmt: skip
            handler.timer.batch_started(len(messages))
            result = await handler.handle(messages, ack_events(stream, events))
            done(events, messages, result, time.monotonic() - started)
            handler.timer.batch_ended()


def enqueued_at(event: EventT) -> float | None:
    """When the event's message entered Kafka (its timestamp, epoch seconds), or None where it has none."""
    stamp = event.message.timestamp
    return stamp if stamp and stamp > 0 else None


class BatchFigures:
    """One ``pipeline_batches`` row per batch, written in the background: best effort (the dashboard
    loses a point, not data), off the batch's path."""

    def __init__(self, app: faust.App, store: Store) -> None:
        self.app = app
        self.store = store
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self._pending: set[asyncio.Future[None]] = set()

    def record(self, events: Events, result: BatchResult, seconds: float) -> None:
        """Start writing the batch's row; returns at once."""
        self._background(self._write(events, result, seconds))

    def _background(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self._pending.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._pending.discard)

    async def _write(self, events: Events, result: BatchResult, seconds: float) -> None:
        row = BatchRow(
            worker=self.worker,
            finished_at=datetime.now(UTC),
            messages=len(events),
            documents=len(result.documents),
            dead_letters=len(result.dead_letters),
            duplicates=result.duplicates,
            seconds=round(seconds, 4),
            lag=consumer_lag(self.app, events),
        )
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.store.insert_batch_stats, [row])
        except StoreError as exc:
            log.warning("could not record batch figures: %s", exc)


def broker_credentials(security: KafkaSecurity) -> faust.types.auth.CredentialsT | None:
    """Faust credentials for SASL and/or TLS (the mapping is ``config.kafka.KafkaSecurity``'s)."""
    context = security.ssl_context()
    if security.uses_sasl:
        username, password = security.username or "", security.password or ""
        if security.mechanism == "PLAIN":
            return faust.SASLCredentials(username=username, password=password, ssl_context=context)
        return faust.SASLCredentials(
            username=username, password=password, ssl_context=context, mechanism=security.mechanism
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None
