"""A worker's running totals: logged every ten seconds and served at ``/finsent/stats``."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import resource
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from storage import Store, StoreError
from streams.delays import DelayCollector, DelayTracker
from streams.pipeline import BatchResult
from streams.routing import RouteCollector, Router
from streams.stages import StageCollector, StageTimer

log = logging.getLogger(__name__)
STATS_PATH = "/finsent/stats"
METRICS_PATH = "/finsent/metrics"


@dataclass
class WorkerStats:
    """Running totals, logged periodically and served at ``/finsent/stats``."""

    batches: int = 0
    """Classify batches stored and acknowledged."""
    messages: int = 0
    """Input messages of those batches, valid or not."""
    stored_documents: int = 0
    score_rows: int = 0
    """One per (document, symbol), and one for a document without symbols."""
    dead_letters: int = 0
    """Messages set aside with a reason (``finsent query dead-letters``)."""
    duplicates: int = 0
    """Messages dropped as already stored: the same id, or the same content at the same time."""
    last_batch_size: int = 0
    last_batch_seconds: float = 0.0
    alerts_fired: int = 0
    alert_keys: int = 0
    """Alert states the engine holds: one per rule and each symbol or topic it has seen."""
    first_batch_started: float = 0.0
    last_batch_finished: float = 0.0
    """Monotonic clock readings: the span between them is ``active_s``."""
    started: float = field(default_factory=time.monotonic)
    delays: DelayTracker = field(default_factory=DelayTracker)
    """How long the batches' messages waited, from their Kafka timestamps to their commit."""

    def record(self, size: int, result: BatchResult, seconds: float, enqueued_at: Iterable[float | None] = ()) -> None:
        """Count one classify batch of ``size`` messages that took ``seconds``, just stored and acknowledged;
        ``enqueued_at``: its messages' Kafka timestamps (epoch seconds, None where a message had none)."""
        self.delays.record(enqueued_at, time.time())
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
        """The totals as served, with uptime, active time and memory."""
        hidden = {"started", "first_batch_started", "last_batch_finished", "delays"}
        data: dict[str, float | int] = {k: v for k, v in self.__dict__.items() if k not in hidden}
        data["uptime_s"] = round(time.monotonic() - self.started, 1)
        # From the start of the first batch to the end of the last: throughput under a backlog.
        data["active_s"] = round(self.last_batch_finished - self.first_batch_started, 4)
        data["rss_mb"] = round(current_rss_bytes() / 2**20, 1)
        data["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        return data


def current_rss_bytes() -> int:
    """Resident set size of this process (Linux ``/proc``; 0 elsewhere)."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def add_stats_endpoints(app: faust.App, stats: WorkerStats, store: Store, router: Router, timer: StageTimer) -> None:
    """Log ``stats`` every ten seconds; serve them, with the partitions, stored documents, routes, the
    cost of each stage per message and the recent input delays, at ``STATS_PATH``; serve the routes'
    figures, the stage seconds and the input delays as Prometheus metrics at ``METRICS_PATH``."""
    metrics = CollectorRegistry()
    metrics.register(RouteCollector(router))
    metrics.register(StageCollector(timer))
    metrics.register(DelayCollector(stats.delays))

    @app.timer(interval=10.0)
    async def log_stats() -> None:
        log.info("worker stats %s", stats.as_dict())

    @app.page(STATS_PATH)
    async def stats_page(web: Any, request: Any) -> Any:
        try:
            in_store: int | None = await asyncio.get_running_loop().run_in_executor(None, store.count_documents, False)
        except StoreError:
            in_store = None  # the store is down: the rest of the figures still help
        return web.json(
            {
                **stats.as_dict(),
                "assigned_partitions": len(app.consumer.assignment()),
                "documents_in_store": in_store,
                "routes": route_stats(router),
                "stages": timer.per_message(),
                "delay_ms": stats.delays.recent_ms(),
            }
        )

    @app.page(METRICS_PATH)
    async def metrics_page(web: Any, request: Any) -> Any:
        return web.bytes(generate_latest(metrics), headers={"Content-Type": CONTENT_TYPE_LATEST})


def route_stats(router: Router) -> dict[str, dict[str, Any]]:
    """Per route: its model, whether it is on the fallback now, fallbacks so far, documents by model version."""
    return {name: dataclasses.asdict(figures) for name, figures in router.snapshot().items()}
