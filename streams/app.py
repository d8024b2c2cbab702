"""The Faust app: wires Kafka to the batch handler and to the alert agent.

The classify agent takes batches with ``noack_take`` and hands each to ``BatchHandler``
(``streams.handler``), which owns the write order and acks only after the batch is durable.
With alerting on, the handler also sends each batch's alert inputs to ``finsent.alert-inputs``
(keyed so that each key's windows live in exactly one worker), and the ``evaluate_alerts``
agent feeds them to the rule engine (``alerts.engine``), stores fired alerts in the outbox
(the ``alerts`` table), emits them to ``finsent.alerts``, and only then acks.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import resource
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faust
from aiokafka.errors import MessageSizeTooLargeError, RecordListTooLargeError, RecordTooLargeError
from pydantic import BaseModel

from config.components import BatchSettings, KafkaSettings
from config.kafka import KafkaSecurity
from schemas import DocumentKind
from schemas.records import BatchRow
from storage import Store, StoreError
from streams.exceptions import MessageTooLarge
from streams.handler import BatchHandler, OutputTopics
from streams.pipeline import BatchProcessor, BatchResult, IncomingMessage
from streams.transport import use_fetch_max_wait

log = logging.getLogger(__name__)


@dataclass
class WorkerStats:
    """Running totals, logged periodically and served at ``/finsent/stats``."""

    batches: int = 0
    messages: int = 0
    stored_documents: int = 0
    score_rows: int = 0
    dead_letters: int = 0
    duplicates: int = 0
    last_batch_size: int = 0
    last_batch_seconds: float = 0.0
    alerts_fired: int = 0
    alert_keys: int = 0
    first_batch_started: float = 0.0
    last_batch_finished: float = 0.0
    started: float = field(default_factory=time.monotonic)

    def record(self, size: int, result: BatchResult, seconds: float) -> None:
        now = time.monotonic()
        self.first_batch_started = self.first_batch_started or now - seconds
        self.last_batch_finished = now
        self.batches += 1
        self.messages += size
        self.stored_documents += len(result.documents)
        self.score_rows += len(result.scores)
        self.dead_letters += len(result.dead_letters)
        self.duplicates += result.duplicates
        self.last_batch_size = size
        self.last_batch_seconds = round(seconds, 4)

    def as_dict(self) -> dict[str, float | int]:
        hidden = {"started", "first_batch_started", "last_batch_finished"}
        data: dict[str, float | int] = {k: v for k, v in self.__dict__.items() if k not in hidden}
        data["uptime_s"] = round(time.monotonic() - self.started, 1)
        # From the start of the first batch to the end of the last: throughput under a backlog.
        data["active_s"] = round(self.last_batch_finished - self.first_batch_started, 4)
        data["rss_mb"] = round(current_rss_bytes() / 2**20, 1)
        data["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        return data


async def emit(topic: faust.TopicT, records: Sequence[BaseModel], key: Callable[[Any], bytes | None]) -> None:
    """Send ``records`` as JSON and wait until the broker has them all."""
    await send_all(topic, [(key(r), r.model_dump_json().encode()) for r in records])


async def send_all(topic: faust.TopicT, messages: Sequence[tuple[bytes | None, bytes]]) -> None:
    """Send ``(key, value)`` messages and wait until the broker has them all.

    Through Faust's producer rather than ``topic.send``: a quarter of the cost per message,
    which adds up at a few messages per document (finsent needs no Faust codecs or callbacks here).
    """
    if not messages:
        return
    await topic.maybe_declare()  # once per topic and process: Faust caches it
    producer = await topic.app.maybe_start_producer()
    name = topic.get_topic_name()
    pending = [await producer.send(name, key, value, None, None, None) for key, value in messages]
    await asyncio.gather(*pending)


class FaustProducer:
    """``BatchProducer`` over a Faust app: topics declared once, sends through its producer."""

    def __init__(self, app: faust.App):
        self.app = app
        self._topics: dict[str, faust.TopicT] = {}

    async def send(self, topic: str, messages: Sequence[tuple[bytes | None, bytes]]) -> None:
        if topic not in self._topics:
            self._topics[topic] = self.app.topic(topic, value_type=bytes, key_type=bytes)
        try:
            await send_all(self._topics[topic], messages)
        except Exception as exc:
            if _refused_for_size(exc):
                raise MessageTooLarge(f"{topic}: {_root_cause(exc)}") from exc
            raise


_SIZE_ERRORS = (MessageSizeTooLargeError, RecordListTooLargeError, RecordTooLargeError)


def _refused_for_size(exc: BaseException) -> bool:
    """Whether ``exc`` (Faust wraps aiokafka's errors in ``ProducerSendError``) is a size refusal."""
    return isinstance(_root_cause(exc), _SIZE_ERRORS)


def _root_cause(exc: BaseException) -> BaseException:
    for _ in range(10):  # a bounded walk down the chain of causes
        if exc.__cause__ is None:
            break
        exc = exc.__cause__
    return exc


EXIT_AGENT_CRASHED = 70


def exit_on_crash(agent: Callable[[faust.StreamT], Awaitable[None]]) -> Callable[[faust.StreamT], Awaitable[None]]:
    """Exit the worker (status 70) when an agent fails unexpectedly, instead of running on without it.

    Faust would log the crash and keep the process alive with that agent gone: a worker that
    looks healthy and consumes nothing. Exiting hands the problem to the supervisor; nothing
    unacknowledged is lost (its batch is redone after the restart).
    """

    @functools.wraps(agent)
    async def guarded(stream: faust.StreamT) -> None:
        try:
            await agent(stream)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.critical("agent %s failed; exiting so the worker is restarted", agent.__name__, exc_info=True)
            logging.shutdown()
            os._exit(EXIT_AGENT_CRASHED)

    return guarded


def current_rss_bytes() -> int:
    """Resident set size of this process (Linux ``/proc``; 0 elsewhere)."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def consumer_lag(app: faust.App, events: Sequence[faust.types.EventT]) -> int:
    """Messages behind the end of the partitions this batch came from (0 where the end is unknown)."""
    last: dict[Any, int] = {}
    for event in events:
        tp = event.message.tp
        last[tp] = max(last.get(tp, -1), event.message.offset)
    lag = 0
    for tp, offset in last.items():
        highwater = app.consumer.highwater(tp)
        if highwater is not None:
            lag += max(0, int(highwater) - offset - 1)
    return lag


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
    """Build the Faust app with the classify agent (``alerts.agent`` adds the rule engine's agent).

    ``after_batch`` sees each batch once it is stored and acked (shadow scoring); it must not block.
    """
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
    kinds = {topic: DocumentKind(kind) for kind, topic in kafka.topics.inputs().items()}
    inputs = app.topic(*kinds, value_type=bytes, key_type=bytes)
    stats = WorkerStats()
    pending_tasks: set[asyncio.Future[None]] = set()
    worker_name = f"{socket.gethostname()}:{os.getpid()}"

    handler = BatchHandler(
        store,
        FaustProducer(app),
        processor,
        OutputTopics(
            scores=kafka.topics.scores,
            dead_letters=kafka.topics.dead_letters,
            alert_inputs=kafka.topics.alert_inputs if send_alert_inputs else None,
        ),
    )

    async def handle_batch(events: list[faust.types.EventT], stream: faust.StreamT) -> None:
        started = time.monotonic()
        messages = [
            IncomingMessage(e.value, e.message.topic, e.message.partition, e.message.offset, kinds[e.message.topic])
            for e in events
        ]

        async def ack() -> None:
            for event in events:
                await stream.ack(event)

        result = await handler.handle(messages, ack)
        seconds = time.monotonic() - started
        stats.record(len(events), result, seconds)
        background(record_batch(events, result, seconds))
        if after_batch is not None:
            after_batch(result)

    def background(work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        pending_tasks.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(pending_tasks.discard)

    async def record_batch(events: list[faust.types.EventT], result: BatchResult, seconds: float) -> None:
        """One ``pipeline_batches`` row; best effort (the dashboard loses a point, not data), off the batch's path."""
        row = BatchRow(
            worker=worker_name,
            finished_at=datetime.now(UTC),
            messages=len(events),
            documents=len(result.documents),
            dead_letters=len(result.dead_letters),
            duplicates=result.duplicates,
            seconds=round(seconds, 4),
            lag=consumer_lag(app, events),
        )
        try:
            await asyncio.get_running_loop().run_in_executor(None, store.insert_batch_stats, [row])
        except StoreError as exc:
            log.warning("could not record batch figures: %s", exc)

    @app.agent(inputs, name="classify")
    @exit_on_crash
    async def classify(stream: faust.StreamT) -> None:
        batches = stream.noack_take(batching.max_size, within=batching.max_wait_s)  # type: ignore[attr-defined]
        async for events in batches:
            await handle_batch(events, stream)

    @app.timer(interval=10.0)
    async def log_stats() -> None:
        log.info("worker stats %s", stats.as_dict())

    @app.page("/finsent/stats")
    async def stats_page(web: Any, request: Any) -> Any:
        try:
            in_store: int | None = await asyncio.get_running_loop().run_in_executor(None, store.count_documents, False)
        except StoreError:
            in_store = None  # the store is down: the rest of the figures still help
        return web.json(
            {**stats.as_dict(), "assigned_partitions": len(app.consumer.assignment()), "documents_in_store": in_store}
        )

    return app, stats
