"""Broker names in analyst notes are flagged, keep their spans and yield no symbol (models.entities.brokers)."""

from __future__ import annotations

import pytest

from models.entities import extract_mentions, extract_symbols


def brokers_in(text: str) -> list[str]:
    """The surfaces of the broker mentions in ``text``."""
    return [text[m.start or 0 : m.end] for m in extract_mentions(text) if m.broker]


@pytest.mark.parametrize(
    ("text", "broker", "symbols"),
    [
        ("Citi reiterates neutral on Pfizer", "Citi", ["PFE"]),
        ("Goldman upgrades Apple to buy", "Goldman", ["AAPL"]),
        ("Apple price target raised to $250 at Morgan Stanley", "Morgan Stanley", ["AAPL"]),
        ("Morgan Stanley raises its price target on Nvidia", "Morgan Stanley", ["NVDA"]),
        ("JPMorgan cuts Tesla PT to $120", "JPMorgan", ["TSLA"]),
        ("Goldman Sachs initiates coverage of Uber with a buy rating", "Goldman Sachs", ["UBER"]),
        ("BofA Securities downgraded Intel to underperform", "BofA", ["INTC"]),
        ("Wells Fargo analysts expect Walmart to beat", "Wells Fargo", ["WMT"]),
        ("Netflix shares jumped after an upgrade from UBS.", "UBS", ["NFLX"]),
        ("Nike was downgraded to sell by Citigroup", "Citigroup", ["NKE"]),
        ("Demand is slowing, according to Bank of America", "Bank of America", []),
        ("Goldman's analysts see Alphabet gaining", "Goldman", ["GOOGL"]),
        ("Moody's downgrades Ford to junk", "Moody's", ["F"]),
        ("Morgan Stanley said in a note that Boeing faces delays", "Morgan Stanley", ["BA"]),
    ],
)
def test_the_broker_of_an_analyst_note_is_flagged_and_yields_no_symbol(
    text: str, broker: str, symbols: list[str]
) -> None:
    assert brokers_in(text) == [broker]
    assert extract_symbols(text) == symbols


@pytest.mark.parametrize(
    ("text", "symbols"),
    [
        ("Citi cuts 20,000 jobs", ["C"]),
        ("Job cuts at Citi deepen", ["C"]),
        ("Goldman Sachs beats estimates on trading revenue", ["GS"]),
        ("Morgan Stanley downgraded to neutral at Goldman", ["MS"]),  # Morgan Stanley is the rated stock
        ("Citigroup price target cut by JPMorgan", ["C"]),
        ("JPMorgan raises its net interest income target", ["JPM"]),
        ("J.P. Morgan cut its target", ["JPM"]),
        ("Tesla upgrades Autopilot software", ["TSLA"]),  # not a broker firm
        ("First Republic was bought by JPMorgan", ["JPM"]),
        ("Wells Fargo maintains its dividend", ["WFC"]),
        ("Earnings season starts with reports from JPMorgan and Citigroup", ["C", "JPM"]),
    ],
)
def test_banks_as_subjects_stay_symbols(text: str, symbols: list[str]) -> None:
    assert extract_symbols(text) == symbols


def test_a_bank_that_is_broker_and_subject_keeps_its_symbol() -> None:
    text = "Goldman upgrades Apple to buy. Goldman shares rise on trading revenue."
    assert brokers_in(text) == ["Goldman"]
    assert extract_symbols(text) == ["AAPL", "GS"]


def test_the_rule_stays_within_the_sentence() -> None:
    # The upgrade belongs to the first sentence; "at Citi" in the second is about Citi's own layoffs.
    assert extract_symbols("Apple upgraded to buy. Layoffs at Citi continue") == ["AAPL", "C"]
    assert extract_symbols("Apple upgraded to buy at Citi") == ["AAPL"]


def test_explicit_ticker_of_a_broker_is_kept() -> None:
    assert extract_symbols("Citi reiterates neutral on Pfizer", ["C"]) == ["C", "PFE"]


def _analyst_templates() -> list[str]:
    from ingest.headlines import BURST_HEADLINES, HEADLINES

    groups = [*HEADLINES.values(), BURST_HEADLINES]
    return sorted({t for group in groups for templates in group.values() for t in templates if "{bank}" in t})


@pytest.mark.parametrize("template", _analyst_templates())
def test_the_demo_feeds_analyst_headlines_name_only_the_rated_company(template: str) -> None:
    from ingest.universe import ANALYST_FIRMS

    for firm in ANALYST_FIRMS:
        for subject, symbol in (("Apple", "AAPL"), ("Citigroup", "C"), ("$NVDA", "NVDA")):
            fill = {"bank": firm, "sub": subject, "pt": "$250", "bigpct": "30%", "q": "Q3"}
            text = template.format(**fill)
            assert extract_symbols(text) == [symbol], text
