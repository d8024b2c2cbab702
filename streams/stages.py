"""Where a worker's time goes: wall and CPU seconds per pipeline stage, summed over batches.

A batch passes the stages in ``STAGES`` order; each is timed once per batch (two clock reads at
each end), never per document, so the timer costs nothing measurable. The figures are served per
message (the stats page, ``finsent bench pipeline``) and as Prometheus counters.

- wall: ``time.perf_counter`` around the stage;
- CPU: ``time.thread_time`` of the thread that runs the stage. Work the stage hands to other
  threads (chdb's own query threads, Faust's fetcher) is not in it: wall minus CPU is time spent
  waiting (on the store, the broker, the GIL, or a core on a busy host).

``stories`` runs in a thread of its own beside ``classify`` when the worker keeps a story index
(``streams.pipeline``): its wall time overlaps classify's, so the stages' sum exceeds a batch's
time, and ``rows`` includes any wait for it.

``consume`` is the gap between the end of one batch and the start of the next: under a backlog,
what taking a batch from Faust costs; on a quiet input it also holds the wait for documents
(its CPU does not).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

STAGES: Final = (
    "consume",
    "parse",
    "dedupe",
    "mentions",
    "classify",
    "stories",
    "rows",
    "store",
    "produce",
    "ack",
)
"""The stages of a batch, in the order it passes them."""


class StageTimer:
    """Running wall and CPU seconds per stage, and the messages they were spent on (thread-safe)."""

    def __init__(self) -> None:
        self._wall = dict.fromkeys(STAGES, 0.0)
        self._cpu = dict.fromkeys(STAGES, 0.0)
        self._messages = 0
        self._batches = 0
        self._last_batch_end: tuple[float, float] | None = None
        self._lock = threading.Lock()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the block as stage ``name`` (added to its totals, also when the block raises)."""
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - wall, time.thread_time() - cpu)

    def add(self, name: str, wall_s: float, cpu_s: float) -> None:
        """Add ``wall_s`` and ``cpu_s`` seconds to stage ``name``."""
        if name not in self._wall:
            raise ValueError(f"unknown stage {name!r}; the stages are {', '.join(STAGES)}")
        with self._lock:
            self._wall[name] += wall_s
            self._cpu[name] += cpu_s

    def batch_started(self, messages: int) -> None:
        """A batch of ``messages`` is in hand: the time since the previous batch ended is its ``consume``.

        The first batch has no previous one, so it adds no ``consume`` time (start-up is not a stage).
        """
        if self._last_batch_end is not None:
            wall, cpu = self._last_batch_end
            self.add("consume", time.perf_counter() - wall, time.thread_time() - cpu)
        with self._lock:
            self._messages += messages
            self._batches += 1

    def batch_ended(self) -> None:
        """The batch is acked; the next ``consume`` starts now (call it from the thread that takes batches)."""
        self._last_batch_end = (time.perf_counter(), time.thread_time())

    def per_message(self) -> dict[str, dict[str, float]]:
        """Per stage, mean microseconds of wall and CPU time per message so far (zeros before the first batch)."""
        with self._lock:
            messages = max(self._messages, 1)
            return {
                name: {
                    "wall_us": round(1e6 * self._wall[name] / messages, 1),
                    "cpu_us": round(1e6 * self._cpu[name] / messages, 1),
                }
                for name in STAGES
            }

    def totals(self) -> tuple[int, int, dict[str, float], dict[str, float]]:
        """Batches, messages, and per stage the wall and CPU seconds so far."""
        with self._lock:
            return self._batches, self._messages, dict(self._wall), dict(self._cpu)


class StageCollector(Collector):
    """A ``StageTimer``'s totals as Prometheus counters (``rate()`` gives the recent cost per stage)."""

    def __init__(self, timer: StageTimer) -> None:
        self.timer = timer

    def collect(self) -> Iterator[CounterMetricFamily]:
        _, messages, wall, cpu = self.timer.totals()
        seconds = CounterMetricFamily(
            "finsent_stage_seconds", "seconds spent in each pipeline stage", labels=["stage", "clock"]
        )
        for name in STAGES:
            seconds.add_metric([name, "wall"], wall[name])
            seconds.add_metric([name, "cpu"], cpu[name])
        yield seconds
        yield CounterMetricFamily("finsent_stage_messages", "messages the stage seconds were spent on", value=messages)
