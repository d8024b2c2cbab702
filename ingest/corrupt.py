"""Deliberately broken messages: each flaw turns a valid payload into bytes the worker must reject."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import orjson

from schemas import DocumentKind

Payload = dict[str, Any]
Flaw = Callable[[Payload, DocumentKind, random.Random], bytes]

_REQUIRED: dict[DocumentKind, tuple[str, ...]] = {
    DocumentKind.NEWS: ("id", "source", "published_at", "headline"),
    DocumentKind.SOCIAL: ("id", "platform", "author", "created_at", "text"),
}
_NOT_JSON: tuple[bytes, ...] = (
    b"<html><body><h1>502 Bad Gateway</h1></body></html>",
    b"headline=Stocks rally&source=wire",
    b"{'id': 'python-repr', 'text': 'single quotes'}",
)
_BAD_UTF8: tuple[bytes, ...] = (b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\x80")
_BAD_TIMES: tuple[str, ...] = (
    "1989-12-31T23:59:59Z",
    "1970-01-01T00:00:00Z",
    "2100-01-01T00:00:00Z",
    "2999-06-01T12:00:00+00:00",
)
_BAD_VERSIONS: tuple[Any, ...] = (2, 0, 99, "v2")
_BLANKS: tuple[str, ...] = ("", "   ", "\n\t ", "\u200b\u200b")
_MARK = "@@BAD-BYTES@@"


def _time_field(kind: DocumentKind) -> str:
    return "published_at" if kind is DocumentKind.NEWS else "created_at"


def _text_field(kind: DocumentKind) -> str:
    return "headline" if kind is DocumentKind.NEWS else "text"


def _not_json(payload: Payload, kind: DocumentKind, rng: random.Random) -> bytes:
    return rng.choice(_NOT_JSON)


def _truncated_json(payload: Payload, kind: DocumentKind, rng: random.Random) -> bytes:
    data = orjson.dumps(payload)
    return data[: rng.randint(1, len(data) - 1)]


def _invalid_utf8(payload: Payload, kind: DocumentKind, rng: random.Random) -> bytes:
    field = _text_field(kind)
    data = orjson.dumps({**payload, field: f"{payload[field]} {_MARK}"})
    return data.replace(_MARK.encode(), rng.choice(_BAD_UTF8))


def _json_array(payload: Payload, kind: DocumentKind, rng: random.Random) -> bytes:
    return orjson.dumps([payload] * rng.randint(1, 2))


def _missing_field(payload: Payload, kind: DocumentKind, rng: random.Random) -> bytes:
    dropped = rng.choice(_REQUIRED[kind])
    return orjson.dumps({k: v for k, v in payload.items() if k != dropped})


def _wrong_type(payload: Payload, kind: DocumentKind, rng: random.Random) -> bytes:
    changes: tuple[Payload, ...] = (
        {_time_field(kind): 12},
        {_text_field(kind): {}},
        {"id": 12345},
        {"tickers": "AAPL"},
        {"engagement": {"likes": "lots"}} if kind is DocumentKind.SOCIAL else {"headline": ["a", "b"]},
    )
    return orjson.dumps({**payload, **rng.choice(changes)})


def _empty_text(payload: Payload, kind: DocumentKind, rng: random.Random) -> bytes:
    return orjson.dumps({**payload, _text_field(kind): rng.choice(_BLANKS)})


def _bad_timestamp(payload: Payload, kind: DocumentKind, rng: random.Random) -> bytes:
    return orjson.dumps({**payload, _time_field(kind): rng.choice(_BAD_TIMES)})


def _unknown_schema_version(payload: Payload, kind: DocumentKind, rng: random.Random) -> bytes:
    return orjson.dumps({**payload, "schema_version": rng.choice(_BAD_VERSIONS)})


FLAWS: dict[str, Flaw] = {
    "not-json": _not_json,
    "truncated-json": _truncated_json,
    "invalid-utf8": _invalid_utf8,
    "json-array": _json_array,
    "missing-field": _missing_field,
    "wrong-type": _wrong_type,
    "empty-text": _empty_text,
    "bad-timestamp": _bad_timestamp,
    "unknown-schema-version": _unknown_schema_version,
}
FLAW_NAMES: tuple[str, ...] = tuple(FLAWS)


def corrupt(payload: Payload, kind: DocumentKind, flaw: str, rng: random.Random) -> bytes:
    """Serialise ``payload`` with ``flaw`` so that ``schemas.parse_document`` rejects it."""
    return FLAWS[flaw](payload, kind, rng)
