"""Errors raised by storage/, with messages that name the problem and never echo SQL."""

import re

from config.errors import FinsentError

_SQL_CONTEXT = re.compile(r"\.?\s*(In scope|While processing|Stack trace)\b.*?(?=\s\([A-Z_]+\)\s*$|$)", re.DOTALL)


class StoreError(FinsentError):
    """Root of every error storage/ raises."""

    exit_code = 3


class StoreUnavailable(StoreError):
    """A transient failure (server down, network error, timeout): retry with backoff."""


class StoreConfigError(StoreError, ValueError):
    """A store URL or option is malformed or unsupported."""

    exit_code = 2


class InvalidQuery(StoreError, ValueError):
    """A query's own arguments do not make sense (a filter out of range or in the wrong place)."""

    exit_code = 2


class StoreLocked(StoreError):
    """An embedded store's data path is held by another process that does not share it."""


class StoreNotInitialised(StoreError):
    """The store exists but holds no finsent tables yet (nothing has been stored there)."""

    def __init__(self, where: str) -> None:
        super().__init__(
            f"{where} has no finsent tables yet: start `finsent worker` (or `make demo`) once to create them"
        )


def short_reason(text: str) -> str:
    """A ClickHouse error's first line without the query it quotes (``In scope SELECT …``), at most 300 characters."""
    first = text.strip().splitlines()[0] if text.strip() else "unknown error"
    return _SQL_CONTEXT.sub("", first).strip()[:300]


def is_unknown_table(text: str) -> bool:
    return "UNKNOWN_TABLE" in text or "Code: 60." in text
