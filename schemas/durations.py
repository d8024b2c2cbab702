"""The one duration grammar of finsent: ``90`` or ``90s``, ``15m``, ``6h``, ``7d``.

Rules files, the CLI's ``--since``/``--interval`` and the API's ``interval`` all read durations
with ``parse_duration``, so the same text means the same span everywhere.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

DURATION_PATTERN = r"^\d{1,9}[smhd]?$"
"""The grammar as a regular expression, for OpenAPI parameter validation."""
_DURATION = re.compile(r"^\s*(\d{1,9})\s*([smhd]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3_600, "d": 86_400}
MAX_DURATION_S = 3_650 * 86_400
"""Ten years: longer spans are typing mistakes, and would overflow date arithmetic."""


def parse_duration(value: object, minimum_s: int = 0, maximum_s: int = MAX_DURATION_S) -> int:
    """Seconds in ``value`` (an int of seconds, or text like ``30s``, ``5m``, ``1h``, ``7d``).

    Raises ValueError with a one-line message for anything else or outside ``[minimum_s, maximum_s]``.
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"not a duration: {value!r} (write e.g. 30s, 5m, 1h or 7d)")
    if isinstance(value, int):
        seconds = value
    else:
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"not a duration: {value!r} (write e.g. 30s, 5m, 1h or 7d)")
        seconds = int(match.group(1)) * _UNIT_S[match.group(2)]
    if not minimum_s <= seconds <= maximum_s:
        low, high = format_duration(minimum_s), format_duration(maximum_s)
        raise ValueError(f"duration {value!r} must be between {low} and {high}")
    return seconds


def format_duration(seconds: int) -> str:
    """The shortest exact spelling: ``90s``, ``5m``, ``1h``, ``7d``."""
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


MIN_INTERVAL_S, MAX_INTERVAL_S = 60, 86_400
"""A sentiment series' interval: whole minutes from 1m to 1d (the rollups are per minute)."""


def parse_interval(value: object) -> int:
    """Seconds of a series interval (CLI ``--interval`` and API ``interval`` alike); ValueError otherwise."""
    seconds = parse_duration(value, minimum_s=MIN_INTERVAL_S, maximum_s=MAX_INTERVAL_S)
    if seconds % 60:
        raise ValueError(f"interval {value!r} must be a whole number of minutes (the rollups are per minute)")
    return seconds


MIN_SPAN_S, MAX_SPAN_S = 60, 30 * 86_400
"""A movers window or baseline: 1m to 30d (longer comparisons belong to a series, not a ranking)."""


def parse_span(value: object) -> int:
    """Seconds of a movers window or baseline (CLI and API alike); ValueError otherwise."""
    return parse_duration(value, minimum_s=MIN_SPAN_S, maximum_s=MAX_SPAN_S)


def end_of_now() -> datetime:
    """The default end of a ``[start, end)`` query range: now, rounded up to the next whole second.

    Stored times are whole seconds and a range's end is exclusive, so a plain ``now`` would leave
    out what was stored in the current second.
    """
    return datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
