"""Mentions with their spans and kinds (models.entities.mentions)."""

from __future__ import annotations

import random

import pytest

from models.entities import MAX_MENTIONS_PER_SYMBOL, Mention, MentionKind, SymbolExtractor, extract_mentions
from models.entities import mentions as module

NAME, CASHTAG, TICKER, EXPLICIT = MentionKind.NAME, MentionKind.CASHTAG, MentionKind.TICKER, MentionKind.EXPLICIT


def spans(text: str, explicit: list[str] | None = None) -> list[tuple[str, str | None, str, bool]]:
    """(symbol, matched surface, kind, broker) per mention, checking each span is what it claims."""
    found = extract_mentions(text, explicit or [])
    out = []
    for m in found:
        surface = None if m.start is None or m.end is None else text[m.start : m.end]
        out.append((m.symbol, surface, m.kind.value, m.broker))
    return out


def at(text: str, surface: str, nth: int = 0) -> tuple[int, int]:
    """The span of the ``nth`` occurrence of ``surface`` in ``text``."""
    start = -1
    for _ in range(nth + 1):
        start = text.index(surface, start + 1)
    return start, start + len(surface)


def test_multi_company_sentences_give_each_company_its_own_span() -> None:
    ford = "Ford beats estimates while rival General Motors misses and cuts its outlook"
    assert extract_mentions(ford) == [
        Mention("F", 0, 4, NAME),
        Mention("GM", *at(ford, "General Motors"), NAME),
    ]
    amazon = "Amazon wins $10bn cloud contract, Oracle loses bid"
    assert extract_mentions(amazon) == [Mention("AMZN", 0, 6, NAME), Mention("ORCL", 34, 40, NAME)]
    assert amazon[34:40] == "Oracle"


def test_reuters_ric_codes_are_tickers_beside_the_name() -> None:
    text = "Johnson & Johnson <JNJ.N> shares gained 0.20% after posting results. [nL4N2Z028U]"
    assert extract_mentions(text) == [Mention("JNJ", 0, 17, NAME), Mention("JNJ", 19, 24, TICKER)]
    assert text[19:24] == "JNJ.N"
    assert spans("Alphabet <GOOGL.O> and Berkshire <BRKb.N>, not Siemens <SIEGn.DE>") == [
        ("GOOGL", "Alphabet", "name", False),
        ("GOOGL", "GOOGL.O", "ticker", False),
        ("BRK.B", "Berkshire", "name", False),
        ("BRK.B", "BRKb.N", "ticker", False),
    ]


def test_a_reuters_code_says_a_context_name_is_the_company() -> None:
    assert spans("Target <TGT.N> fell") == [("TGT", "Target", "name", False), ("TGT", "TGT.N", "ticker", False)]
    assert spans("Target < 2%") == []


def test_exchange_qualified_tickers() -> None:
    assert spans("Acme Robotics (NASDAQ: ACMR) and F (NYSE:F) rose; NYSE:BRK.B too") == [
        ("ACMR", "ACMR", "ticker", False),
        ("F", "F", "ticker", False),
        ("BRK.B", "BRK.B", "ticker", False),
    ]
    assert spans("Nasdaq: FAANG stocks fall") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$AAPL to the moon", [("AAPL", "$AAPL", "cashtag", False)]),
        ("buying $brk.b", [("BRK.B", "$brk.b", "cashtag", False)]),
        ("$AAPL.It rose 3%", [("AAPL", "$AAPL", "cashtag", False)]),
        ("$tsla!!! ($NVDA)", [("TSLA", "$tsla", "cashtag", False), ("NVDA", "$NVDA", "cashtag", False)]),
        ("a $100 gain, US$5", []),
        ("$ZZZZ counts", [("ZZZZ", "$ZZZZ", "cashtag", False)]),
    ],
)
def test_cashtag_spans(text: str, expected: list[tuple[str, str, str, bool]]) -> None:
    assert spans(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Apple's services revenue", [("AAPL", "Apple", "name", False)]),
        ("GE Vernova jumped while GE fell", [("GEV", "GE Vernova", "name", False), ("GE", "GE", "name", False)]),
        ("J.P. Morgan and Coca-Cola", [("JPM", "J.P. Morgan", "name", False), ("KO", "Coca-Cola", "name", False)]),
        ("Ford and GM recall cars", [("F", "Ford", "name", False), ("GM", "GM", "name", False)]),
        ("the Big Apple", []),
    ],
)
def test_name_spans(text: str, expected: list[tuple[str, str, str, bool]]) -> None:
    assert spans(text) == expected


def test_spans_index_the_original_text_past_invisible_characters() -> None:
    text = "\u200bNews:\u200e McDonald\u2019s and Ber\u200bkshire \ufeffrise; $AAPL\u200b too"
    found = extract_mentions(text)
    assert [(m.symbol, text[m.start : m.end]) for m in found if m.start is not None] == [
        ("MCD", "McDonald\u2019s"),
        ("BRK.B", "Ber\u200bkshire"),
        ("AAPL", "$AAPL"),
    ]


def test_explicit_tickers_are_mentions_without_a_span() -> None:
    found = extract_mentions("Apple rose", ["aapl", "$msft", "bad ticker!"])
    assert found == [
        Mention("AAPL", 0, 5, NAME),
        Mention("AAPL", None, None, EXPLICIT),
        Mention("MSFT", None, None, EXPLICIT),
    ]


def test_mentions_come_in_text_order_and_are_capped_per_symbol() -> None:
    text = "Tesla and Apple; " * (MAX_MENTIONS_PER_SYMBOL + 5)
    found = extract_mentions(text)
    assert [m.start for m in found] == sorted(m.start or 0 for m in found)
    assert sum(m.symbol == "TSLA" for m in found) == MAX_MENTIONS_PER_SYMBOL
    assert found[0] == Mention("TSLA", 0, 5, NAME)


def test_mentions_agree_with_symbols_and_the_symbol_cap() -> None:
    extractor = SymbolExtractor.default()
    made_up = " ".join(f"$AA{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(80))
    text = f"{made_up} $NVDA and Tesla; Citi reiterates buy on Apple"
    found = extractor.mentions(text, ["ZZZZ"])
    symbols = extractor.extract(text, ["ZZZZ"])
    assert sorted({m.symbol for m in found if not m.broker}) == symbols
    assert len(symbols) == module.DEFAULT_MAX_SYMBOLS
    assert [m.symbol for m in found if m.broker] == ["C"]


def test_names_across_chunk_boundaries_keep_exact_spans() -> None:
    for pad in range(module._CHUNK_CHARS - 20, module._CHUNK_CHARS + 4, 3):
        text = "x" * pad + " Citi reiterates neutral on Pfizer"
        found = extract_mentions(text)
        assert [(m.symbol, text[m.start or 0 : m.end], m.broker) for m in found] == [
            ("C", "Citi", True),
            ("PFE", "Pfizer", False),
        ], pad


def test_hostile_text_yields_bounded_valid_spans() -> None:
    text = "Apple " * 200_000 + "\u200b" * 1000 + "$" + "A" * 10
    found = extract_mentions(text)
    assert len(found) == MAX_MENTIONS_PER_SYMBOL
    assert all(text[m.start or 0 : m.end] == "Apple" for m in found)
    assert extract_mentions(None) == []  # type: ignore[arg-type]


def test_random_unicode_gives_spans_inside_the_text() -> None:
    rng = random.Random(7)
    alphabet = "$.&'’-<>:()AaBbPpLlNO \x00\u200b\u202e\ufeff\U0001f4c8 Apple GE J.P. Morgan Citi upgrades NYSE"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 200)))
        for m in extract_mentions(text, ["x", "AAPL"]):
            if m.kind is EXPLICIT:
                assert m.start is None and m.end is None
                continue
            assert m.start is not None and m.end is not None and 0 <= m.start < m.end <= len(text), (text, m)
            surface = text[m.start : m.end]
            assert surface.strip() == surface and surface[0] not in "\u200b\ufeff\u202e", (text, m)
            assert m.kind is not CASHTAG or surface.startswith("$")
