"""Replay recorded messages from a JSONL/JSON/CSV file or stdin (``finsent replay FILE|-``)."""

from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import orjson

from ingest.exceptions import IngestError
from ingest.messages import OutgoingMessage
from schemas import DocumentKind, InvalidMessage, parse_document

STDIN = "-"
FORMATS: dict[str, str] = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv"}
POSITION_UNITS = {"jsonl": "line", "json": "item", "csv": "row"}
"""What a message's ``position`` counts in each format (JSON that is not an array counts lines)."""
_TICKER_SEPARATORS = re.compile(r"[,|\s]+")
_ENGAGEMENT_PREFIX = "engagement_"


def resolve_format(path: str | Path, fmt: str | None = None) -> str:
    """The input format: ``fmt`` if given, else from the file extension (stdin defaults to jsonl)."""
    if fmt is None:
        if str(path) == STDIN:
            return "jsonl"
        fmt = FORMATS.get(Path(path).suffix.lower())
        if fmt is None:
            raise IngestError(f"cannot tell the format of {path}: use one of {', '.join(FORMATS)} or pass fmt")
    fmt = fmt.lower().lstrip(".")
    if fmt == "ndjson":
        return "jsonl"
    if fmt not in FORMATS.values():
        raise IngestError(f"unknown format {fmt!r}: use one of {', '.join(sorted(set(FORMATS.values())))}")
    return fmt


def _check_exists(path: str | Path) -> None:
    if str(path) != STDIN and not Path(path).is_file():
        raise IngestError(f"no such file: {path}")


def read_messages(path: str | Path, kind: DocumentKind, fmt: str | None = None) -> Iterator[OutgoingMessage]:
    """Messages read from ``path`` (``"-"`` for stdin), one per JSONL line, JSON array item or CSV row.

    Raw bytes pass through unchanged so the worker sees exactly what was recorded; ``valid``
    and ``note`` say whether ``schemas.parse_document`` accepts each one. Raises IngestError
    for an unknown format or a missing file before anything is read.
    """
    fmt = resolve_format(path, fmt)
    _check_exists(path)
    readers = {"jsonl": _jsonl_values, "json": _json_values, "csv": _csv_values}
    return (_message(raw, kind, position) for position, raw in readers[fmt](path))


def count_lines(path: str | Path) -> int | None:
    """Lines in ``path`` (minus the header for CSV), for a progress-bar total; None for stdin."""
    if str(path) == STDIN:
        return None
    _check_exists(path)
    count, last = 0, b"\n"
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    count += last != b"\n"
    return max(0, count - 1) if Path(path).suffix.lower() == ".csv" else count


def _message(raw: bytes, kind: DocumentKind, position: int) -> OutgoingMessage:
    try:
        parse_document(raw, kind)
    except InvalidMessage as exc:
        return OutgoingMessage(kind, None, raw, False, exc.reason, position)
    return OutgoingMessage(kind, str(orjson.loads(raw)["id"]).encode(), raw, True, position=position)


@contextmanager
def _binary(path: str | Path) -> Iterator[IO[bytes]]:
    if str(path) == STDIN:
        yield sys.stdin.buffer
        return
    with open(path, "rb") as stream:
        yield stream


def _jsonl_values(path: str | Path) -> Iterator[tuple[int, bytes]]:
    with _binary(path) as stream:
        yield from _lines(stream)


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """Each non-blank line with its line number (from 1)."""
    for number, line in enumerate(stream, start=1):
        raw = line.rstrip(b"\r\n")
        if raw.strip():
            yield number, raw


def _json_values(path: str | Path) -> Iterator[tuple[int, bytes]]:
    """A JSON array of messages, or JSON lines when the file does not start with ``[``."""
    with _binary(path) as stream:
        data = stream.read()
    if not data.lstrip().startswith(b"["):
        yield from _lines(io.BytesIO(data))
        return
    try:
        items = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise IngestError(f"{path} starts like a JSON array but is not valid JSON: {exc}") from None
    yield from ((number, orjson.dumps(item)) for number, item in enumerate(items, start=1))


def _csv_values(path: str | Path) -> Iterator[tuple[int, bytes]]:
    """Each row as a message, numbered from 1 after the header."""
    with _binary(path) as stream:
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
        try:
            rows = csv.DictReader(text)
            yield from ((number, orjson.dumps(row_payload(row))) for number, row in enumerate(rows, start=1))
        finally:
            text.detach()


def row_payload(row: dict[str | None, Any]) -> dict[str, Any]:
    """One CSV row as a message object: empty cells dropped, ``tickers`` split, ``engagement_*`` folded.

    Values stay strings (the worker validates them), except a numeric ``schema_version``,
    which the contract needs as an integer.
    """
    payload: dict[str, Any] = {}
    engagement: dict[str, str] = {}
    for column, value in row.items():
        if column is None or not isinstance(value, str) or value == "":
            continue
        name = column.strip()
        if name == "tickers":
            payload[name] = [t for t in _TICKER_SEPARATORS.split(value) if t]
        elif name.startswith(_ENGAGEMENT_PREFIX):
            engagement[name.removeprefix(_ENGAGEMENT_PREFIX)] = value
        elif name == "schema_version" and value.strip().isdigit():
            payload[name] = int(value)
        else:
            payload[name] = value
    if engagement:
        payload["engagement"] = engagement
    return payload
