"""The synthetic feed behind ``finsent generate``: deterministic news and social messages."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

from ingest.content import burst_payload, news_payload, social_payload
from ingest.corrupt import FLAW_NAMES, corrupt
from ingest.exceptions import IngestError
from ingest.headlines import BURST_HEADLINES
from ingest.messages import MessageCounts, OutgoingMessage
from schemas import DocumentKind

_SYMBOL = re.compile(r"^[A-Z]{1,6}([.\-][A-Z]{1,2})?$")


@dataclass(frozen=True)
class Burst:
    """A scripted event: ``count`` news items about ``symbol`` with one sentiment, close together.

    The burst starts at ``at_fraction`` of the feed and takes every other message (every
    message when the feed is too short), so its documents span a few seconds of event time.
    Burst messages are always valid.
    """

    symbol: str = "NVDA"
    at_fraction: float = 0.6
    count: int = 40
    sentiment: str = "negative"
    name: str = "negative-burst"

    def __post_init__(self) -> None:
        if not _SYMBOL.match(self.symbol):
            raise IngestError(f"burst symbol {self.symbol!r} is not an upper-case ticker like NVDA or BRK.B")
        if not 0.0 <= self.at_fraction < 1.0:
            raise IngestError(f"burst at_fraction must be in [0, 1), got {self.at_fraction}")
        if self.count < 0:
            raise IngestError(f"burst count must be >= 0, got {self.count}")
        if self.sentiment not in BURST_HEADLINES:
            raise IngestError(f"burst sentiment must be one of {sorted(BURST_HEADLINES)}, got {self.sentiment!r}")


@dataclass
class FeedConfig:
    """How the synthetic feed looks; the same config always yields the same bytes."""

    seed: int = 7
    bad_ratio: float = 0.0
    news_ratio: float = 0.35
    start: datetime | None = None
    spacing_s: float = 0.05
    bursts: tuple[Burst, ...] = (Burst(),)

    def __post_init__(self) -> None:
        for name in ("bad_ratio", "news_ratio"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise IngestError(f"{name} must be between 0 and 1, got {value}")
        if self.spacing_s < 0:
            raise IngestError(f"spacing_s must be >= 0, got {self.spacing_s}")
        if self.start is not None and self.start.tzinfo is None:
            raise IngestError("start must be timezone-aware (e.g. datetime(..., tzinfo=UTC))")


@dataclass
class FeedStats(MessageCounts):
    """What the last ``messages`` call produced."""

    by_flaw: Counter[str] = field(default_factory=Counter)
    burst_docs: Counter[str] = field(default_factory=Counter)

    def record(self, message: OutgoingMessage, burst: bool) -> None:
        """Count one produced message, with its flaw and the burst it belongs to."""
        self.count(message)
        if not message.valid:
            self.by_flaw[message.note] += 1
        if burst:
            self.burst_docs[message.note] += 1


def plan_bursts(bursts: tuple[Burst, ...], n: int) -> dict[int, Burst]:
    """Message positions taken by scripted events in a feed of ``n`` messages."""
    plan: dict[int, Burst] = {}
    for burst in bursts:
        start = int(burst.at_fraction * n)
        stride = 2 if start + 2 * burst.count <= n else 1
        position, placed = start, 0
        while placed < burst.count and position < n:
            if position not in plan:
                plan[position] = burst
                placed += 1
            position += stride
    return plan


class FeedGenerator:
    """Yields synthetic news and social messages, some deliberately invalid, with scripted bursts."""

    def __init__(self, config: FeedConfig | None = None):
        self.config = config or FeedConfig()
        self.start = self.config.start or datetime.now(UTC)
        self.stats = FeedStats()

    def messages(self, n: int) -> Iterator[OutgoingMessage]:
        """Exactly ``n`` messages; calling again with the same ``n`` repeats them byte for byte."""
        if n < 0:
            raise IngestError(f"n must be >= 0, got {n}")
        seed = self.config.seed
        content, flaws = random.Random(f"{seed}:content"), random.Random(f"{seed}:flaws")
        plan = plan_bursts(self.config.bursts, n)
        bad_p = min(1.0, self.config.bad_ratio * n / max(1, n - len(plan)))
        self.stats = FeedStats()
        for i in range(n):
            burst = plan.get(i)
            message = self._message(i, content, flaws, burst, bad_p)
            self.stats.record(message, burst is not None)
            yield message

    def _when(self, i: int, rng: random.Random) -> datetime:
        spacing = self.config.spacing_s
        return self.start + timedelta(seconds=spacing * (i + rng.uniform(-0.4, 0.4)))

    def _message(
        self, i: int, content: random.Random, flaws: random.Random, burst: Burst | None, bad_p: float
    ) -> OutgoingMessage:
        doc_id, when = f"gen-{self.config.seed}-{i}", self._when(i, content)
        if burst is not None:
            payload = burst_payload(content, doc_id, when, burst.symbol, burst.sentiment)
            return OutgoingMessage(DocumentKind.NEWS, doc_id.encode(), orjson.dumps(payload), True, burst.name)
        if content.random() < self.config.news_ratio:
            kind, payload = DocumentKind.NEWS, news_payload(content, doc_id, when)
        else:
            kind, payload = DocumentKind.SOCIAL, social_payload(content, doc_id, when)
        if flaws.random() < bad_p:
            flaw = FLAW_NAMES[self.stats.invalid % len(FLAW_NAMES)]
            return OutgoingMessage(kind, None, corrupt(payload, kind, flaw, flaws), False, flaw)
        return OutgoingMessage(kind, doc_id.encode(), orjson.dumps(payload), True)
