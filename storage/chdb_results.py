"""Turn chdb's ``JSONCompact`` output into the Python values clickhouse-driver returns.

The session runs with ``date_time_output_format='unix_timestamp'`` and unquoted 64-bit
integers, so DateTime values arrive as epoch seconds and need no time-zone parsing.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import orjson

SESSION_SETTINGS = {
    "session_timezone": "'UTC'",
    "date_time_output_format": "'unix_timestamp'",
    "output_format_json_quote_64bit_integers": "0",
    "output_format_json_quote_denormals": "1",
    "output_format_json_validate_utf8": "1",
}

Decoder = Callable[[Any], Any]
_DATETIME = re.compile(r"^DateTime(?:64)?(?:\((?:\d+\s*)?(?:,\s*)?(?:'([^']+)')?\))?$")
_WRAPPERS = ("Nullable(", "LowCardinality(", "SimpleAggregateFunction(")
_FLOAT32 = struct.Struct("f")


def decode_json_compact(payload: bytes) -> tuple[list[str], list[tuple]]:
    """Column names and rows of a ``JSONCompact`` result (empty output: no columns, no rows)."""
    if not payload.strip():
        return [], []
    document = orjson.loads(payload)
    meta = document["meta"]
    decoders = [decoder_for(column["type"]) for column in meta]
    rows = [tuple(decode(value) for decode, value in zip(decoders, row, strict=True)) for row in document["data"]]
    return [column["name"] for column in meta], rows


@lru_cache(maxsize=256)
def decoder_for(type_name: str) -> Decoder:
    """A function turning one JSON value of ClickHouse type ``type_name`` into Python."""
    if type_name.startswith("Nullable("):
        return _nullable(decoder_for(type_name[len("Nullable(") : -1]))
    if type_name.startswith(_WRAPPERS):
        return decoder_for(type_name[type_name.index("(") + 1 : -1])
    if type_name.startswith("Array("):
        return _array(decoder_for(type_name[len("Array(") : -1]))
    if type_name.startswith("Tuple("):
        return tuple
    match = _DATETIME.match(type_name)
    if match:
        return _datetime(_zone(match.group(1)))
    if type_name in ("Date", "Date32"):
        return date.fromisoformat
    if type_name == "Float32":
        return _float32
    if type_name == "Float64":
        return float
    return _identity


def _nullable(inner: Decoder) -> Decoder:
    return lambda value: None if value is None else inner(value)


def _array(inner: Decoder) -> Decoder:
    return lambda value: [inner(item) for item in value]


def _datetime(zone: tzinfo) -> Decoder:
    return lambda value: datetime.fromtimestamp(float(value) if "." in str(value) else int(value), zone)


def _zone(name: str | None) -> tzinfo:
    return UTC if name in (None, "UTC", "Etc/UTC") else ZoneInfo(name)


def _float32(value: Any) -> float:
    return _FLOAT32.unpack(_FLOAT32.pack(float(value)))[0]


def _identity(value: Any) -> Any:
    return value
