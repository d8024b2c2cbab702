"""When a batch closes: full, or once what has arrived is taken in and the wait bound is reached.

A batch closes when it holds ``max_size`` documents, or when both of these hold:

- it is **due**: ``bound_s`` has passed since the previous batch closed. A document that arrived
  after that has waited at most this long for its batch to close, however long the previous
  batch took;
- what has arrived is **taken in**: no document came in during the last ``settle_s`` (the
  queue that built up while the previous batch was processed has been read into this one),
  or ``bound_s`` has passed since its first document came in (a steady stream cannot keep a
  batch open).

So the batch follows the load. Under light traffic a batch closes ``bound_s`` after the
previous one, with whatever came in by then. When a batch takes longer than ``bound_s`` to
process, the next one is due as soon as it is taken in: it holds what arrived meanwhile and
closes without an added wait (a fixed wait after every batch adds to every document's latency,
and more when load is high, since documents arriving during the wait lengthen the next batch
too). Under a backlog batches fill to ``max_size``.

``BatchPolicy`` decides from three durations and the count; it reads no clock, so it is tested
without timing.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_SETTLE_S = 0.002
"""A pause in arrivals this long means the queued documents have been read in (the stream reads
a queued message in well under a tenth of this)."""


@dataclass(frozen=True)
class BatchPolicy:
    """The closing rule of the module docstring."""

    max_size: int
    bound_s: float
    settle_s: float = DEFAULT_SETTLE_S

    def __post_init__(self) -> None:
        if self.max_size < 1 or self.bound_s <= 0 or self.settle_s < 0:
            raise ValueError(f"invalid batch policy {self}")

    def close_in(
        self, buffered: int, since_previous_close_s: float, since_first_s: float, since_arrival_s: float
    ) -> float | None:
        """Seconds until the batch should close (0: now), given what is known now; None while it is empty.

        ``since_previous_close_s``: since the previous batch was handed out; ``since_first_s``: since
        this batch's first document came in; ``since_arrival_s``: since its latest one did.
        """
        if buffered == 0:
            return None
        if buffered >= self.max_size:
            return 0.0
        until_due = self.bound_s - since_previous_close_s
        if until_due > 0:
            return until_due
        until_settled = self.settle_s - since_arrival_s
        until_drain_cap = self.bound_s - since_first_s
        return max(0.0, min(until_settled, until_drain_cap))
