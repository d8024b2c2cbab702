"""Hostile input: every message is stored (sanitised) or dead-lettered with a reason, and nothing crashes.

A fixed corpus of nasty messages goes through the batch pipeline (parse, dedupe, symbols,
classify with the null model); hypothesis throws arbitrary bytes and JSON at the parser and
arbitrary text at the symbol extractor.
"""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models import NullClassifier
from models.entities import SymbolExtractor
from schemas import DocumentKind, InvalidMessage, parse_document
from schemas.records import DEAD_LETTER_RAW_BYTES
from streams.pipeline import BatchProcessor, IncomingMessage

NEWS = {"id": "n1", "source": "wire", "published_at": "2026-11-23T09:00:00Z", "headline": "Acme beats estimates"}
POST = {"id": "p1", "platform": "x", "author": "someone", "created_at": "2026-11-23T09:00:00Z", "text": "$ACME up"}
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"


def news(**changes: object) -> bytes:
    return orjson.dumps({**NEWS, **changes})


def post(**changes: object) -> bytes:
    return orjson.dumps({**POST, **changes})


# (name, kind, raw bytes, stored?)
CORPUS: list[tuple[str, DocumentKind, bytes, bool]] = [
    ("invalid JSON", DocumentKind.NEWS, b'{"id": "x", ', False),
    ("invalid UTF-8", DocumentKind.NEWS, b'{"id": "\xff\xfe", "source": "w"}', False),
    ("not an object", DocumentKind.SOCIAL, b"[1, 2, 3]", False),
    ("empty message", DocumentKind.SOCIAL, b"", False),
    ("NUL bytes in text", DocumentKind.SOCIAL, post(id="nul", text="Acme\x00 shares\x00 up"), True),
    ("only invisible characters", DocumentKind.SOCIAL, post(id="inv", text=INVISIBLE), False),
    ("zero-width and RTL overrides", DocumentKind.NEWS, news(id="rtl", headline=f"Ac{INVISIBLE}me\u202e beats"), True),
    ("HTML and script", DocumentKind.NEWS, news(id="html", headline="<script>alert(1)</script> Acme <b>up</b>"), True),
    ("5 MB body", DocumentKind.NEWS, news(id="big", body="a" * 5_000_000), False),
    ("10,000 tickers", DocumentKind.SOCIAL, post(id="many", tickers=["AAPL"] * 10_000), False),
    ("100 tickers", DocumentKind.SOCIAL, post(id="hundred", tickers=["AAPL", "MSFT"] * 50), True),
    ("malformed ticker", DocumentKind.SOCIAL, post(id="badt", tickers=["'; DROP TABLE scores; --"]), False),
    ("date in 1970", DocumentKind.NEWS, news(id="old", published_at="1970-01-01T00:00:00Z"), False),
    ("date in 2100", DocumentKind.NEWS, news(id="future", published_at="2100-06-01T00:00:00Z"), False),
    ("naive timestamp", DocumentKind.NEWS, news(id="naive", published_at="2026-11-23T09:00:00"), False),
    ("wrong type", DocumentKind.NEWS, news(id=["a", "list"]), False),
    (
        "enormous number",
        DocumentKind.SOCIAL,
        post(id="huge").replace(b'"id":"huge"', b'"id":"huge","engagement":{"likes":1' + b"0" * 40 + b"}"),
        False,
    ),
    ("negative number", DocumentKind.SOCIAL, post(id="neg", engagement={"likes": -5}), False),
    ("float for an int", DocumentKind.SOCIAL, post(id="flt", engagement={"likes": 1e308}), False),
    ("format strings", DocumentKind.NEWS, news(id="fmt", headline="%(start)s {0} %s %n ${jndi:ldap://x}"), True),
    ("SQL in text", DocumentKind.NEWS, news(id="sql", headline="Acme'); DROP TABLE documents; --"), True),
    ("a valid post", DocumentKind.SOCIAL, post(id="ok"), True),
    ("same id, same content", DocumentKind.SOCIAL, post(id="ok"), False),
    ("same id, other content", DocumentKind.SOCIAL, post(id="ok", text="$ACME down"), False),
]


def run_batch(corpus: list[tuple[str, DocumentKind, bytes, bool]]):
    processor = BatchProcessor(NullClassifier(), lambda ids: {}, SymbolExtractor.default(), b"key")
    messages = [IncomingMessage(raw, f"finsent.{kind.value}", 0, offset, kind) for offset, (_, kind, raw, _) in
                enumerate(corpus)]  # fmt: skip
    return messages, processor.process(messages)


def test_every_hostile_message_is_stored_or_dead_lettered_with_a_reason() -> None:
    messages, result = run_batch(CORPUS)
    dead = {letter.offset: letter.error for letter in result.dead_letters}
    stored_offsets = {offset for offset, (_, _, _, stored) in enumerate(CORPUS) if stored}
    assert len(result.documents) == len(stored_offsets)
    assert len(result.documents) + len(result.dead_letters) + result.duplicates == len(messages)
    for offset, (name, _, _, stored) in enumerate(CORPUS):
        if not stored and name != "same id, same content":
            assert dead.get(offset), f"{name}: expected a dead letter with a reason"
    assert result.duplicates == 1
    assert "conflicting duplicate" in dead[len(CORPUS) - 1]


def test_stored_text_is_sanitised() -> None:
    _, result = run_batch(CORPUS)
    for document in result.documents:
        text = document.headline + document.body
        assert "\x00" not in text and not set(INVISIBLE) & set(text)
    headlines = {document.doc_id.split(":")[-1]: document.headline for document in result.documents}
    assert headlines["rtl"] == "Acme beats"
    assert headlines["html"] == "<script>alert(1)</script> Acme <b>up</b>"  # stored as text; rendering escapes it


def test_dead_letters_keep_the_raw_message_or_a_bounded_copy_of_it() -> None:
    messages, result = run_batch(CORPUS)
    raw_by_offset = {message.offset: message.raw for message in messages}
    for letter in result.dead_letters:
        raw = raw_by_offset[letter.offset]
        assert letter.raw_bytes == len(raw) and len(letter.error) <= 2_000
        assert letter.raw == raw[:DEAD_LETTER_RAW_BYTES] and letter.truncated == (len(raw) > DEAD_LETTER_RAW_BYTES)
    assert any(letter.truncated for letter in result.dead_letters)  # the 5 MB body


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2_000), st.sampled_from(list(DocumentKind)))
def test_arbitrary_bytes_parse_or_raise_invalid_message(raw: bytes, kind: DocumentKind) -> None:
    try:
        parse_document(raw, kind, b"key")
    except InvalidMessage as exc:
        assert exc.reason


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
FIELDS = st.fixed_dictionaries(
    {},
    optional={
        name: JSON | st.text(max_size=80)
        for name in (
            "id",
            "source",
            "platform",
            "author",
            "published_at",
            "created_at",
            "headline",
            "text",
            "body",
            "url",
            "tickers",
            "engagement",
            "schema_version",
        )
    },
)


@settings(max_examples=300, deadline=None)
@given(FIELDS, st.sampled_from(list(DocumentKind)))
def test_arbitrary_json_objects_parse_or_raise_invalid_message(fields: dict, kind: DocumentKind) -> None:
    try:
        raw = orjson.dumps(fields)
    except (TypeError, orjson.JSONEncodeError):
        return
    try:
        document = parse_document(raw, kind, b"key")
    except InvalidMessage as exc:
        assert exc.reason
        return
    assert document.doc_id and document.text.strip()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=3_000), st.lists(st.text(max_size=8), max_size=20))
def test_symbol_extraction_never_raises_and_returns_tickers(text: str, explicit: list[str]) -> None:
    extractor = SymbolExtractor.default()
    symbols = extractor.extract(text, explicit)
    assert symbols == sorted(set(symbols)) and len(symbols) <= extractor.max_symbols
    assert all(symbol == symbol.upper() and 1 <= len(symbol) <= 8 for symbol in symbols)


@pytest.mark.parametrize("count", [1_000, 20_000])
def test_posts_naming_thousands_of_companies_are_capped(count: int) -> None:
    text = " ".join(f"${chr(65 + i % 26)}{chr(65 + (i // 26) % 26)}" for i in range(count))
    extractor = SymbolExtractor.default()
    assert len(extractor.extract(text)) == extractor.max_symbols
