"""How long input messages wait: from their Kafka timestamp to their batch being stored and acknowledged.

What an analyst feels as freshness, measured by the worker itself: no consumer of the output
topic has to run beside it (one on the same cores slows what it measures). The clock at the
start is the message's own timestamp (the producer's clock under ``CreateTime``, the broker's
under ``LogAppendTime``), so a producer whose clock runs ahead shows shorter delays; delays
below zero count as zero.

Served as the Prometheus histogram ``finsent_input_delay_seconds`` (every message since the
worker started) and, on the stats page, as the median and 99th percentile of the last
``RECENT`` messages.
"""

from __future__ import annotations

import bisect
import threading
from collections import deque
from collections.abc import Iterable, Iterator

from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector

BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)
"""Upper bounds of the histogram's buckets, seconds: from a quiet input to an hour's backlog."""
RECENT = 10_000
"""Messages the stats page's percentiles are taken over (a fixed memory: 10,000 floats)."""


class DelayTracker:
    """Delays of the messages of committed batches: bucket counts since start, and the recent ones."""

    def __init__(self, recent: int = RECENT) -> None:
        self._counts = [0] * (len(BUCKETS_S) + 1)
        self._sum_s = 0.0
        self._recent: deque[float] = deque(maxlen=recent)
        self._lock = threading.Lock()

    def record(self, enqueued_at: Iterable[float | None], committed_at: float) -> None:
        """Count one batch: each message's Kafka timestamp (None: it had none) and the batch's commit time,
        both in epoch seconds."""
        delays = [max(0.0, committed_at - stamp) for stamp in enqueued_at if stamp is not None]
        with self._lock:
            for delay in delays:
                self._counts[bisect.bisect_left(BUCKETS_S, delay)] += 1
            self._sum_s += sum(delays)
            self._recent.extend(delays)

    def recent_ms(self) -> dict[str, float | int | None]:
        """Median and 99th percentile of the last ``RECENT`` delays, in ms, and how many they are."""
        with self._lock:
            recent = sorted(self._recent)
        if not recent:
            return {"messages": 0, "p50": None, "p99": None}
        return {"messages": len(recent), "p50": _quantile_ms(recent, 0.5), "p99": _quantile_ms(recent, 0.99)}

    def histogram(self) -> tuple[list[tuple[str, float]], float]:
        """Cumulative bucket counts keyed by upper bound (the last ``+Inf``), and the sum of delays in seconds."""
        with self._lock:
            counts, total_s = list(self._counts), self._sum_s
        cumulative, running = [], 0
        for bound, count in zip([*map(str, BUCKETS_S), "+Inf"], counts, strict=True):
            running += count
            cumulative.append((bound, float(running)))
        return cumulative, total_s


class DelayCollector(Collector):
    """A ``DelayTracker`` as the Prometheus histogram ``finsent_input_delay_seconds``."""

    def __init__(self, tracker: DelayTracker) -> None:
        self.tracker = tracker

    def collect(self) -> Iterator[HistogramMetricFamily]:
        buckets, total_s = self.tracker.histogram()
        yield HistogramMetricFamily(
            "finsent_input_delay_seconds",
            "seconds from an input message's Kafka timestamp to its batch being stored and acknowledged",
            buckets=buckets,
            sum_value=total_s,
        )


def _quantile_ms(ordered: list[float], q: float) -> float:
    return round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)
