"""The synthetic feed behind ``finsent generate``: deterministic news and social messages."""

from __future__ import annotations

import heapq
import itertools
import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

from ingest.content import Payload, burst_payload, copy_payload, news_payload, social_payload
from ingest.corrupt import FLAW_NAMES, corrupt
from ingest.exceptions import IngestError
from ingest.headlines import BURST_HEADLINES
from ingest.messages import MessageCounts, OutgoingMessage
from schemas import DocumentKind

_SYMBOL = re.compile(r"^[A-Z]{1,6}([.\-][A-Z]{1,2})?$")
COPY_NOTE = "copy"
"""The ``note`` of a message that copies an earlier headline of the feed."""
COPY_DELAY = (3, 60)
"""A copy comes this many messages after its original (at least, at most)."""


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
    copy_ratio: float = 0.15
    """The share of news headlines that get one to three copies (syndicated or reposted) a little later."""

    def __post_init__(self) -> None:
        for name in ("bad_ratio", "news_ratio", "copy_ratio"):
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
    copies: int = 0
    """Copies of earlier headlines among the messages (``COPY_NOTE``; always valid)."""

    def record(self, message: OutgoingMessage, burst: bool) -> None:
        """Count one produced message, with its flaw and the burst it belongs to."""
        self.count(message)
        if not message.valid:
            self.by_flaw[message.note] += 1
        if burst:
            self.burst_docs[message.note] += 1
        if message.note == COPY_NOTE:
            self.copies += 1


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


class _Copies:
    """Copies of news headlines waiting for their position, drawn from their own seeded stream."""

    def __init__(self, seed: int, ratio: float) -> None:
        self.rng = random.Random(f"{seed}:copies")
        self.ratio = ratio
        self._waiting: list[tuple[int, int, Payload]] = []
        self._order = itertools.count()

    def plan(self, position: int, original: Payload) -> None:
        """Maybe (``ratio``) schedule one to three copies of news ``original`` a little after ``position``."""
        if self.rng.random() < self.ratio:
            for _ in range(self.rng.randint(1, 3)):
                heapq.heappush(self._waiting, (position + self.rng.randint(*COPY_DELAY), next(self._order), original))

    def due(self, position: int) -> Payload | None:
        """The original of the earliest copy due at ``position`` (taken off the plan), or None."""
        if self._waiting and self._waiting[0][0] <= position:
            return heapq.heappop(self._waiting)[2]
        return None


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
        copies = _Copies(seed, self.config.copy_ratio)
        self.stats = FeedStats()
        for i in range(n):
            burst = plan.get(i)
            message = self._message(i, content, flaws, burst, bad_p, copies)
            self.stats.record(message, burst is not None)
            yield message

    def _when(self, i: int, rng: random.Random) -> datetime:
        spacing = self.config.spacing_s
        return self.start + timedelta(seconds=spacing * (i + rng.uniform(-0.4, 0.4)))

    def _message(
        self, i: int, content: random.Random, flaws: random.Random, burst: Burst | None, bad_p: float, copies: _Copies
    ) -> OutgoingMessage:
        """Message ``i``: the burst's, else (unless this one is to be flawed) a copy that is due, else a fresh one."""
        doc_id, when = f"gen-{self.config.seed}-{i}", self._when(i, content)
        if burst is not None:
            payload = burst_payload(content, doc_id, when, burst.symbol, burst.sentiment)
            return OutgoingMessage(DocumentKind.NEWS, doc_id.encode(), orjson.dumps(payload), True, burst.name)
        flawed = flaws.random() < bad_p
        original = None if flawed else copies.due(i)
        if original is not None:
            is_news, payload = copy_payload(copies.rng, doc_id, when, original)
            kind = DocumentKind.NEWS if is_news else DocumentKind.SOCIAL
            return OutgoingMessage(kind, doc_id.encode(), orjson.dumps(payload), True, COPY_NOTE)
        if content.random() < self.config.news_ratio:
            kind, payload = DocumentKind.NEWS, news_payload(content, doc_id, when)
        else:
            kind, payload = DocumentKind.SOCIAL, social_payload(content, doc_id, when)
        if flawed:
            flaw = FLAW_NAMES[self.stats.invalid % len(FLAW_NAMES)]
            return OutgoingMessage(kind, None, corrupt(payload, kind, flaw, flaws), False, flaw)
        if kind is DocumentKind.NEWS:
            copies.plan(i, payload)
        return OutgoingMessage(kind, doc_id.encode(), orjson.dumps(payload), True)
