"""The unit the producer sends: one raw Kafka record and what we know about it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from schemas import DocumentKind


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One record for the input topic of ``kind``.

    ``key`` is the document id for valid messages, so a document always lands in the same
    partition; ``note`` names what is wrong with a deliberately invalid message, or the
    scripted event a message belongs to.
    """

    kind: DocumentKind
    key: bytes | None
    value: bytes
    valid: bool
    note: str = ""
    position: int | None = None
    """Where it came from in a replayed file: line (JSONL), item (JSON array) or row (CSV), from 1."""


@dataclass
class MessageCounts:
    """Messages counted as they are produced: in all, by validity and by kind."""

    produced: int = 0
    valid: int = 0
    invalid: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)

    def count(self, message: OutgoingMessage) -> None:
        """Count one produced message."""
        self.produced += 1
        self.by_kind[message.kind.value] += 1
        if message.valid:
            self.valid += 1
        else:
            self.invalid += 1
