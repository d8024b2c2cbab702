"""Symbols per document (models.entities: the set of tickers a document yields) and the bundled company dictionary."""

from __future__ import annotations

import csv
import dataclasses
import random
from collections import defaultdict
from importlib import resources

import pytest

from models.entities import (
    DEFAULT_MAX_SYMBOLS,
    SymbolExtractor,
    extract_symbols,
    load_rows,
    normalise_ticker,
)
from models.entities import mentions as symbols
from models.entities.dictionary import row_phrases


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    text = (resources.files("models.entities") / "data" / "companies.csv").read_text(encoding="utf-8")
    return load_rows(text)


@pytest.fixture(scope="module")
def small() -> SymbolExtractor:
    return SymbolExtractor.from_rows(
        [
            {"ticker": "AAPL", "name": "Apple", "aliases": "Apple Inc."},
            {"ticker": "JPM", "name": "JPMorgan Chase", "aliases": "JPMorgan|J.P. Morgan"},
            {"ticker": "T", "name": "AT&T", "aliases": ""},
            {"ticker": "GE", "name": "GE Aerospace", "aliases": "GE"},
            {"ticker": "GEV", "name": "GE Vernova", "aliases": ""},
            {"ticker": "brk-b", "name": "Berkshire Hathaway", "aliases": "Berkshire"},
        ]
    )


# --- cashtags ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$AAPL to the moon", ["AAPL"]),
        ("buying $brk.b and $BRK.B", ["BRK.B"]),
        ("$tsla!!! ($NVDA), [$amd]; $MSFT.", ["AMD", "MSFT", "NVDA", "TSLA"]),
        ("$AAPL's margins", ["AAPL"]),
        ("$AAPL.It rose 3%", ["AAPL"]),
        ("a $100 gain, $5B deal, $0.50 dividend", []),
        ("costs US$5 or US$AAPL or x$TSLA", []),
        ("$TOOLONG and $ABCDEF are not tickers", []),
        ("$ alone and $$ and $.B", []),
        ("$ZZZZ is not in the dictionary but counts", ["ZZZZ"]),
    ],
)
def test_cashtags(small: SymbolExtractor, text: str, expected: list[str]) -> None:
    assert small.extract(text) == expected


# --- explicit tickers --------------------------------------------------------------------------


def test_explicit_tickers_are_validated_and_normalised(small: SymbolExtractor) -> None:
    explicit = ["msft", "$nvda", "BRK-B", " goog ", "", "123", "TOOLONG", "A.BCD", None, 7]
    assert small.extract("", explicit) == ["BRK.B", "GOOG", "MSFT", "NVDA"]  # type: ignore[arg-type]


def test_explicit_bare_string_is_one_ticker(small: SymbolExtractor) -> None:
    assert small.extract("", "AAPL") == ["AAPL"]
    assert small.extract("", None) == []  # type: ignore[arg-type]


@pytest.mark.parametrize(("value", "expected"), [("brk.b", "BRK.B"), ("$f", "F"), ("A1", None), ("x" * 10_000, None)])
def test_normalise_ticker(value: str, expected: str | None) -> None:
    assert normalise_ticker(value) == expected


# --- company names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Apple beat estimates", ["AAPL"]),
        ("Apple's services revenue", ["AAPL"]),
        ("Apple’s services revenue", ["AAPL"]),
        ("J.P. Morgan cut its target", ["JPM"]),
        ("AT&T and JPMorgan", ["JPM", "T"]),
        ("Berkshire Hathaway bought more", ["BRK.B"]),
        ("GE Vernova jumped while GE fell", ["GE", "GEV"]),
        ("GE Vernova jumped", ["GEV"]),
        ("apple pie and applesauce", []),
        ("Applebee's and Pineapple", []),
        ("APPLE IN CAPITALS", []),
        ("the Big Apple", []),  # a stop phrase
    ],
)
def test_names(small: SymbolExtractor, text: str, expected: list[str]) -> None:
    assert small.extract(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Google unveils a new model", ["GOOGL"]),
        ("Alphabet Class C shares", ["GOOG"]),
        ("Meta Platforms, formerly Facebook", ["META"]),
        ("JPMorgan Chase & Co. and Bank of America", ["BAC", "JPM"]),
        ("Procter & Gamble, McDonald's and Coca-Cola", ["KO", "MCD", "PG"]),
        ("Exxon Mobil and Chevron", ["CVX", "XOM"]),
        ("Nvidia, Tesla, Amazon and Microsoft", ["AMZN", "MSFT", "NVDA", "TSLA"]),
        ("Target Corp raised guidance", ["TGT"]),
        ("Target practice, Visa rules and a Ball game", []),
        ("the S&P 500 and the Dow Jones and Nasdaq", []),
        ("the Big Apple and the Oracle of Omaha", []),
        ("Oracle rose", ["ORCL"]),
        ("Taiwan Semiconductor and Alibaba", ["BABA", "TSM"]),
    ],
)
def test_default_dictionary_names(text: str, expected: list[str]) -> None:
    assert extract_symbols(text) == expected


# --- combination, ordering, cap ----------------------------------------------------------------


def test_union_is_sorted_and_deduplicated(small: SymbolExtractor) -> None:
    text = "Apple and $AAPL and $aapl; J.P. Morgan ($JPM) vs $ZZZ"
    assert small.extract(text, ["aapl", "JPM", "BBB"]) == ["AAPL", "BBB", "JPM", "ZZZ"]


def test_max_symbols_keeps_explicit_and_known_tickers_first(small: SymbolExtractor) -> None:
    capped = dataclasses.replace(small, max_symbols=2)
    assert capped.extract("$CCC $AAA $DDD Apple", ["BBB"]) == ["AAPL", "BBB"]
    assert dataclasses.replace(small, max_symbols=3).extract("$CCC $AAA $DDD Apple") == ["AAA", "AAPL", "CCC"]
    assert dataclasses.replace(small, max_symbols=0).extract("$AAPL") == []


def test_invalid_max_symbols_rejected(small: SymbolExtractor) -> None:
    with pytest.raises(ValueError, match="max_symbols"):
        dataclasses.replace(small, max_symbols=-1)


def test_from_rows_rejects_bad_ticker_and_first_claim_wins() -> None:
    with pytest.raises(ValueError, match="invalid ticker"):
        SymbolExtractor.from_rows([{"ticker": "12", "name": "X", "aliases": ""}])
    extractor = SymbolExtractor.from_rows(
        [{"ticker": "AAA", "name": "Acme", "aliases": ""}, {"ticker": "BBB", "name": "Acme", "aliases": ""}]
    )
    assert extractor.extract("Acme rose") == ["AAA"]


def test_default_is_cached() -> None:
    assert SymbolExtractor.default() is SymbolExtractor.default()
    assert SymbolExtractor.default().max_symbols == symbols.DEFAULT_MAX_SYMBOLS


# --- hostile input -----------------------------------------------------------------------------


def test_nul_zero_width_and_bidi_marks(small: SymbolExtractor) -> None:
    assert small.extract("\x00$AAPL\x00 J.P. Morgan\x00") == ["AAPL", "JPM"]
    assert small.extract("\u200b$AAPL\u200b \u200fApple\u200e\u202e") == ["AAPL"]
    assert small.extract("Ber\u200bkshire\ufeff") == ["BRK.B"]
    assert small.extract("\x00" * 1000 + "\u200b" * 1000 + "\u202e" * 1000) == []


def test_one_megabyte_text(small: SymbolExtractor) -> None:
    text = ("Lorem ipsum dolor sit amet, consectetur. " * 25_000)[:1_000_000] + " Apple $NVDA"
    assert small.extract(text) == ["AAPL", "NVDA"]


def test_names_spanning_chunk_boundaries_are_found(small: SymbolExtractor) -> None:
    # Shift a multi-word name across every offset near the internal chunk size.
    for pad in range(symbols._CHUNK_CHARS - 12, symbols._CHUNK_CHARS + 4):
        assert small.extract("x" * pad + " J.P. Morgan") == ["JPM"], pad
        assert small.extract("." * pad + "GE Vernova") == ["GEV"], pad


def test_whitespace_free_megabytes(small: SymbolExtractor) -> None:
    assert small.extract("ab." * 400_000 + "$AAPL") == ["AAPL"]
    assert small.extract("a" * 2_000_000) == []


def test_ten_thousand_cashtags_are_capped(small: SymbolExtractor) -> None:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    tags = [f"${a}{b}{c}" for a in letters for b in letters for c in letters][:10_000]
    random.Random(0).shuffle(tags)
    result = small.extract(" ".join(tags))
    assert len(result) == symbols.DEFAULT_MAX_SYMBOLS
    symbols_found = {tag[1:] for tag in tags}
    known = {"GEV", "JPM", "XYZ"} & symbols_found  # listed in the dictionary (XYZ: Block, a context name)
    others = sorted(symbols_found - known)[: symbols.DEFAULT_MAX_SYMBOLS - len(known)]
    assert known and result == sorted(known | set(others))


def test_random_unicode_never_raises() -> None:
    extractor = SymbolExtractor.default()
    rng = random.Random(1234)
    alphabet = "$.&'’-AaPpLl \x00\u200b\u202e\ud800\U0001f4c8Apple GE J.P. Morgan"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 200)))
        result = extractor.extract(text)
        assert result == sorted(set(result))
    surrogates = "".join(chr(rng.randrange(0x110000)) for _ in range(5_000))
    assert isinstance(extractor.extract(surrogates), list)
    assert extractor.extract(None) == []  # type: ignore[arg-type]


# --- dictionary sanity -------------------------------------------------------------------------


def test_dictionary_covers_the_index(rows: list[dict[str, str]]) -> None:
    tickers = [row["ticker"] for row in rows]
    assert len(set(tickers)) >= 500
    assert len(tickers) == len(set(tickers)), "duplicate ticker rows"
    for ticker in ("AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "JPM", "XOM", "BRK.B"):
        assert ticker in tickers
    assert all(normalise_ticker(t) == t for t in tickers)


def test_every_name_and_alias_maps_to_one_ticker(rows: list[dict[str, str]]) -> None:
    owners: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        assert row["name"].strip(), row
        for phrase in row_phrases(row):
            owners[phrase].add(row["ticker"])
    conflicts = {phrase: ticker_set for phrase, ticker_set in owners.items() if len(ticker_set) > 1}
    assert not conflicts


def test_dictionary_avoids_dangerous_bare_words(rows: list[dict[str, str]]) -> None:
    phrases = {phrase for row in rows for phrase in row_phrases(row)}
    dangerous = {
        "Target",
        "Visa",
        "Ball",
        "Gap",
        "Block",
        "Square",
        "Delta",
        "Dow",
        "Nasdaq",
        "ICE",
        "CMS",
        "RTX",
        "GM",
        "USB",
        "Progressive",
        "Travelers",
        "Pool",
        "Match",
        "Snap",
        "Zoom",
        "Shell",
        "Carrier",
        "Apollo",
        "Principal",
        "Regions",
        "Williams",
        "Southern",
        "Dover",
        "Waters",
        "Abbott",
        "Lilly",
        "Fox",
        "Monster",
        "Cadence",
        "Vertex",
        "Arm",
        "Discover",
        "Citizens",
        "United",
        "American",
        "Mosaic",
        "Quest",
        "Align",
        "3M",
        "EA",
        "BP",
        "HP",
        "CME",
        "AES",
        "Strategy",
        "Lennox",
    }
    assert not phrases & dangerous


def test_csv_is_well_formed() -> None:
    text = (resources.files("models.entities") / "data" / "companies.csv").read_text(encoding="utf-8")
    parsed = list(csv.reader(text.splitlines()))
    assert parsed[0] == ["ticker", "name", "aliases"]
    assert all(len(row) == 3 for row in parsed)


@pytest.mark.parametrize(
    ("headline", "expected"),
    [
        ("Ford and GM recall 1.2 million vehicles over faulty seat belts", ["F", "GM"]),
        ("GM, Ford and Tesla face new EV tariffs", ["F", "GM", "TSLA"]),
        ("Visa and Mastercard agree to cap swipe fees in settlement", ["MA", "V"]),
        ("Target cuts outlook as shoppers pull back on discretionary spending", ["TGT"]),
        ("Visa's revenue beats estimates on cross-border travel", ["V"]),
        ("Shares of retailer Target slide after weak holiday sales", ["TGT"]),
        ("Apple unveils a cheaper iPhone", ["AAPL"]),
        ("Fed keeps its inflation target unchanged", []),
        ("Inflation Target in sight, says ECB", []),
        ("Travelers face new visa rules for the Schengen area", []),
        ("Big Apple office rents fall for a third quarter", []),
        ("GM crops debate returns to the EU parliament", []),
    ],
)
def test_ambiguous_names_are_read_from_their_context(headline: str, expected: list[str]) -> None:
    assert extract_symbols(headline) == expected


def test_known_symbols_and_explicit_tickers_win_over_the_cashtag_cap() -> None:
    made_up = " ".join(f"$AA{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(60))
    text = f"{made_up} $NVDA and Tesla"
    found = SymbolExtractor.default().extract(text, explicit=["ZZZZ"])
    assert len(found) == DEFAULT_MAX_SYMBOLS
    assert {"NVDA", "TSLA", "ZZZZ"} <= set(found)
