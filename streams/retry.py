"""Retry with capped exponential backoff for transient failures (a store that is down)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


Transient = type[BaseException] | tuple[type[BaseException], ...]


async def retry_async(
    action: Callable[[], Awaitable[T]],
    transient: Transient,
    what: str,
    first_delay_s: float = 0.5,
    max_delay_s: float = 30.0,
) -> T:
    """Run ``action`` until it succeeds; on a transient error wait 0.5 s, 1 s, … up to 30 s.

    While this waits, the agent pulls no new batch, so consumption pauses instead of buffering.
    """
    delay = first_delay_s
    attempt = 1
    while True:
        try:
            return await action()
        except transient as exc:
            log.warning("%s failed (attempt %d): %s; retrying in %.1fs", what, attempt, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay_s)
            attempt += 1
