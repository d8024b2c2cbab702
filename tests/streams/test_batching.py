"""The batch closing rule: full, or due and taken in; decided from durations, so tested without a clock."""

from __future__ import annotations

import pytest

from streams.batching import BatchPolicy

POLICY = BatchPolicy(max_size=100, bound_s=0.05, settle_s=0.002)


def test_an_empty_batch_waits_for_its_first_document() -> None:
    assert POLICY.close_in(0, since_previous_close_s=10.0, since_first_s=10.0, since_arrival_s=10.0) is None


def test_a_full_batch_closes_at_once_even_before_it_is_due() -> None:
    assert POLICY.close_in(100, since_previous_close_s=0.0, since_first_s=0.0, since_arrival_s=0.0) == 0.0


def test_light_traffic_waits_until_the_bound_after_the_previous_batch_closed() -> None:
    # The previous batch closed 10 ms ago and took 4 ms: this one is due 40 ms from now.
    assert POLICY.close_in(3, since_previous_close_s=0.010, since_first_s=0.006, since_arrival_s=0.001) == (
        pytest.approx(0.040)
    )


def test_after_a_long_batch_the_next_closes_once_its_queue_is_read_in_without_waiting_the_bound() -> None:
    # The previous batch took 300 ms: what arrived meanwhile waited long enough; no arrival for 3 ms.
    assert POLICY.close_in(60, since_previous_close_s=0.305, since_first_s=0.005, since_arrival_s=0.003) == 0.0


def test_a_due_batch_still_reading_its_queue_waits_for_the_pause_in_arrivals() -> None:
    # Documents still coming in (the latest 0.5 ms ago): wait out the settle time since it.
    assert POLICY.close_in(60, since_previous_close_s=0.305, since_first_s=0.001, since_arrival_s=0.0005) == (
        pytest.approx(0.0015)
    )


def test_a_steady_stream_cannot_keep_a_due_batch_open_past_the_bound() -> None:
    # Arrivals closer than the settle time forever: the batch closes a bound after its first document.
    assert POLICY.close_in(99, since_previous_close_s=0.4, since_first_s=0.05, since_arrival_s=0.0001) == 0.0
    assert POLICY.close_in(99, since_previous_close_s=0.4, since_first_s=0.049, since_arrival_s=0.0) == (
        pytest.approx(0.001)
    )


def test_light_traffic_after_an_idle_spell_closes_once_the_first_arrivals_settle() -> None:
    # Nothing for a minute, then one document: it is due, and closes after the settle time.
    assert POLICY.close_in(1, since_previous_close_s=60.0, since_first_s=0.0, since_arrival_s=0.0) == (
        pytest.approx(0.002)
    )


@pytest.mark.parametrize(("size", "bound", "settle"), [(0, 0.05, 0.0), (10, 0.0, 0.0), (10, 0.05, -1.0)])
def test_an_impossible_policy_is_refused(size: int, bound: float, settle: float) -> None:
    with pytest.raises(ValueError, match="invalid batch policy"):
        BatchPolicy(size, bound, settle)
