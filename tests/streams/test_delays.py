"""Input delays: from a message's Kafka timestamp to its batch's commit."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from streams.delays import BUCKETS_S, DelayCollector, DelayTracker
from streams.pipeline import BatchResult
from streams.stats import WorkerStats


def test_each_delay_falls_in_the_first_bucket_that_holds_it() -> None:
    tracker = DelayTracker()
    tracker.record([99.99, 99.5, 93.0, None], committed_at=100.0)  # 0.01 s, 0.5 s (a bound), 7 s, no timestamp
    buckets, total_s = tracker.histogram()
    cumulative = dict(buckets)
    assert cumulative["0.05"] == 1
    assert cumulative["0.25"] == 1 and cumulative["0.5"] == 2
    assert cumulative["5.0"] == 2 and cumulative["10.0"] == 3
    assert cumulative["+Inf"] == 3 and len(buckets) == len(BUCKETS_S) + 1
    assert abs(total_s - 7.51) < 1e-6


def test_a_timestamp_from_a_clock_ahead_counts_as_no_delay() -> None:
    tracker = DelayTracker()
    tracker.record([105.0], committed_at=100.0)
    assert tracker.recent_ms() == {"messages": 1, "p50": 0.0, "p99": 0.0}
    assert dict(tracker.histogram()[0])["0.05"] == 1


def test_the_percentiles_are_of_the_recent_messages_only() -> None:
    tracker = DelayTracker(recent=100)
    tracker.record([0.0] * 50, committed_at=30.0)  # 30 s each, then pushed out of the window
    tracker.record([100.0 - i / 1000 for i in range(1, 101)], committed_at=100.0)  # 1 ms … 100 ms
    assert tracker.recent_ms() == {"messages": 100, "p50": 51.0, "p99": 100.0}
    assert dict(tracker.histogram()[0])["+Inf"] == 150  # the histogram keeps every message


def test_no_messages_yet_gives_no_percentiles() -> None:
    assert DelayTracker().recent_ms() == {"messages": 0, "p50": None, "p99": None}


def test_the_delays_are_a_prometheus_histogram() -> None:
    tracker = DelayTracker()
    tracker.record([9.8, 9.0], committed_at=10.0)
    registry = CollectorRegistry()
    registry.register(DelayCollector(tracker))
    text = generate_latest(registry).decode()
    assert 'finsent_input_delay_seconds_bucket{le="0.25"} 1.0' in text
    assert 'finsent_input_delay_seconds_bucket{le="1.0"} 2.0' in text
    assert "finsent_input_delay_seconds_count 2.0" in text
    total = next(line.split()[1] for line in text.splitlines() if line.startswith("finsent_input_delay_seconds_sum"))
    assert abs(float(total) - 1.2) < 1e-9


def test_a_recorded_batch_adds_its_messages_delays() -> None:
    stats = WorkerStats()
    stats.record(3, BatchResult(), 0.1, [1.0, None, 2.0])
    assert stats.delays.recent_ms()["messages"] == 2
    assert "delays" not in stats.as_dict()
