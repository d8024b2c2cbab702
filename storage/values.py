"""Python values on their way into ClickHouse: insert columns and query parameters.

Timestamps: ClickHouse ``DateTime`` holds whole seconds. Aware datetimes keep their instant;
naive ones are taken as UTC. Inserts send integer Unix seconds on both backends, and
datetime parameters render as ``toDateTime(<unix seconds>, 'UTC')``: a plain
``'YYYY-MM-DD hh:mm:ss'`` literal would be read in the *server's* time zone by 18.16.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from clickhouse_driver.util.escape import escape_params
from pydantic import BaseModel

_UTC_CONTEXT = SimpleNamespace(server_info=SimpleNamespace(get_timezone=lambda: "UTC"))


def epoch_seconds(value: datetime) -> int:
    """Whole Unix seconds of ``value`` (naive means UTC); fractions are dropped."""
    if value.tzinfo is None:
        return calendar.timegm(value.timetuple())
    return calendar.timegm(value.astimezone(UTC).timetuple())


def to_columns(records: Sequence[BaseModel], columns: Sequence[str]) -> list[list[Any]]:
    """One list per column, in ``columns`` order, with datetimes as Unix seconds."""
    data = []
    for name in columns:
        values = [getattr(record, name) for record in records]
        if values and isinstance(values[0], datetime):
            values = [epoch_seconds(value) for value in values]
        data.append(values)
    return data


class UnixTime:
    """A datetime parameter; clickhouse-driver's escaping passes it through ``str()`` unquoted."""

    __slots__ = ("seconds",)

    def __init__(self, value: datetime) -> None:
        self.seconds = epoch_seconds(value)

    def __str__(self) -> str:
        return f"toDateTime({self.seconds}, 'UTC')"

    def __repr__(self) -> str:
        return f"UnixTime({self.seconds})"


class IntegersText:
    """Integers as one string literal, ``'1,2,3'``, for a query to split server-side
    (``splitByChar(',', …)``): a long list of literals costs ClickHouse more to parse than one
    string. Built from ``int`` values, it holds only digits, minus signs and commas, so it is
    rendered as it is: the driver's escaping of a string walks it a character at a time (28 µs a
    document for the story index's keys)."""

    __slots__ = ("text",)

    def __init__(self, values: Iterable[int]) -> None:
        self.text = ",".join(map(str, map(int, values)))

    def __str__(self) -> str:
        return f"'{self.text}'"

    def __repr__(self) -> str:
        return f"IntegersText({self.text[:40]!r}…)"


def sql_params(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``params`` with every datetime (also inside lists and tuples) wrapped in ``UnixTime``."""
    if params is None:
        return None
    return {name: _wrap_datetimes(value) for name, value in params.items()}


def render_params(sql: str, params: Mapping[str, Any] | None) -> str:
    """Substitute ``%(name)s`` placeholders exactly as clickhouse-driver does client-side."""
    prepared = sql_params(params)
    if prepared is None:
        return sql
    return sql % escape_params(prepared, _UTC_CONTEXT)


def render_settings(settings: Mapping[str, Any]) -> str:
    """``name = value, ...`` for a query's SETTINGS clause; string values are escaped."""
    for name in settings:
        if not name.isidentifier():
            raise ValueError(f"not a setting name: {name!r}")
    escaped = escape_params(dict(settings), _UTC_CONTEXT)
    return ", ".join(f"{name} = {value}" for name, value in escaped.items())


def chunked(values: Sequence[str], max_items: int = 1_000, max_chars: int = 100_000) -> Iterator[list[str]]:
    """Consecutive chunks of ``values`` small enough for one ``IN (...)`` list."""
    chunk: list[str] = []
    size = 0
    for value in values:
        if chunk and (len(chunk) >= max_items or size + len(value) > max_chars):
            yield chunk
            chunk, size = [], 0
        chunk.append(value)
        size += len(value) + 4
    if chunk:
        yield chunk


def _wrap_datetimes(value: Any) -> Any:
    if isinstance(value, datetime):
        return UnixTime(value)
    if isinstance(value, list):
        return [_wrap_datetimes(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_wrap_datetimes(item) for item in value)
    return value
