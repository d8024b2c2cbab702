"""Story fingerprints: reposts of one story match, other stories told in the same words do not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from finsent.cli import main
from models.novelty import BANDS, Fingerprint, band_keys, normalise, novelty_score, signatures

HEADLINE = "Nvidia sinks as major customer cancels contract"


def same(first: str, second: str, symbols: tuple[str, ...] = ()) -> bool:
    prints = [Fingerprint.of(first, symbols), Fingerprint.of(second, symbols)]
    keys = band_keys(signatures([p.shingles for p in prints]))
    shares_a_key = bool(set(keys[0].tolist()) & set(keys[1].tolist()))
    return shares_a_key and prints[0].same_story(prints[1])


@pytest.mark.parametrize(
    "copy",
    [
        "$NVDA - Nvidia sinks as major customer cancels contract",
        "Nvidia sinks as major customer cancels contract (Reuters)",
        "NVIDIA SINKS AS MAJOR CUSTOMER CANCELS CONTRACT https://t.co/x1y2z3",
        "RT @wire: Nvidia sinks as major customer cancels contract #stocks #nvda",
        "BREAKING: Nvidia sinks as major customer cancels contract - Reuters",
        "Nvidia sinks as major customer cancels contract, via @Benzinga",
        "Nvidia sinks as major customer cancels its contract",
    ],
)
def test_reposts_of_a_headline_are_its_story(copy: str) -> None:
    assert same(HEADLINE, copy)


def test_a_ticker_for_the_name_is_the_same_story_when_the_symbol_is_known() -> None:
    """The pipeline passes each document's extracted symbols: then "$NVDA sinks" is "Nvidia sinks"."""
    assert same(HEADLINE, "$NVDA sinks as major customer cancels contract", symbols=("NVDA",))
    assert not same(HEADLINE, "$NVDA sinks as major customer cancels contract")


def test_a_truncated_copy_of_a_long_headline_is_its_story() -> None:
    long = "Nvidia sinks as its largest data-centre customer cancels a multiyear supply contract for new chips"
    assert same(long, long[:70] + "…")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Nvidia shares fall 5% as customer cancels contract", "Nvidia shares fall 9% as customer cancels contract"),
        ("Nvidia shares rise after earnings beat estimates", "Nvidia shares fall after earnings beat estimates"),
        ("$NVDA - Chipmaker cancels its supply contract", "$AMD - Chipmaker cancels its supply contract"),
        (
            "Pulmonx to Report Second Quarter 2022 Financial Results",
            "Gartner to Report Second Quarter 2022 Financial Results",
        ),
        ("Nvidia sinks as major customer cancels contract", "Apple unveils a new iPhone at its September event"),
    ],
)
def test_other_stories_in_the_same_words_are_not_merged(first: str, second: str) -> None:
    assert not same(first, second)


def test_normalise_drops_what_reposts_add() -> None:
    assert normalise("RT @a: $NVDA $AMD - Chips RALLY (Reuters) https://t.co/x #semis") == ["chips", "rally"]


def test_a_text_without_words_has_no_shingles_and_matches_nothing() -> None:
    empty = Fingerprint.of("https://t.co/abc")
    assert len(empty.shingles) == 0 and not empty.same_story(empty)
    assert band_keys(signatures([empty.shingles])).shape == (1, BANDS)


def test_novelty_is_100_for_the_first_and_decays_with_each_earlier_copy() -> None:
    assert [novelty_score(n) for n in range(5)] == [100, 75, 56, 42, 32]
    assert novelty_score(60) == 0


@pytest.mark.parametrize(
    "hostile",
    ["$aa " * 100 + "x", "$a, " * 100 + "x", "#a " * 150 + "x", "1," * 200 + "x", " - " * 130 + "x", "… " * 200],
)
def test_hostile_texts_are_fingerprinted_in_bounded_work(hostile: str) -> None:
    """Patterns that backtrack on long ticker lists would hang here (a list without a dash took minutes)."""
    fingerprint = Fingerprint.of(hostile * 10)
    assert len(fingerprint.shingles) <= 96


def test_eval_novelty_prints_precision_and_recall_per_corpus(data_root: Path) -> None:
    result = CliRunner().invoke(main, ["eval", "--task", "novelty", "--data-root", str(data_root), "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    for name in ("tweets_validation", "news_headlines"):
        block = report[name]
        assert block["matched_by_kind"]["copies"]["pairs"] == block["texts"] > 0
        assert 0 <= block["recall"] <= 1 and block["pairs"] > block["texts"]
    assert "truncate" in report["settings"]["transforms"]
