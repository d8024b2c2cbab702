"""The unit the producer sends: one raw Kafka record and what we know about it."""

from __future__ import annotations

from dataclasses import dataclass

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
