"""Synthetic factual-event rows: exact spans, determinism, balance, contrast rows, brokers neutral."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from models.exceptions import ModelConfigError
from models.train import synthetic
from models.train.synthetic import load_tables, summarize, synthetic_events, template_counts


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return synthetic_events(2000, seed=0)


def _labels(row: dict) -> set[str]:
    return {entity["sentiment"] for entity in row["entities"]}


def test_every_span_is_the_exact_mention(rows: list[dict]) -> None:
    for row in rows + synthetic_events(300, seed=7):
        assert row["entities"], row
        for entity in row["entities"]:
            assert row["text"][entity["start"] : entity["end"]] == entity["name"], row
            assert entity["sentiment"] in synthetic.LABELS


def test_every_template_renders_its_labels_exactly() -> None:
    tables = load_tables()
    for template in tables.templates:
        row = synthetic._render(random.Random(0), tables, template, broker_share=1.0)
        slots = synthetic._SLOT_RE.findall(template.text)
        assert len(row["entities"]) == sum(slot in template.labels for slot in slots), template
        assert all(slot in template.labels for slot in slots if slot.isupper()), template
        assert [e["sentiment"] for e in row["entities"]] == [template.labels[s] for s in slots if s.isupper()]


def test_same_seed_same_rows_and_another_seed_other_rows(rows: list[dict]) -> None:
    assert synthetic_events(2000, seed=0) == rows
    assert synthetic_events(50, seed=1) != rows[:50]


def test_texts_are_distinct_and_n_is_honoured(rows: list[dict]) -> None:
    assert len(rows) == 2000
    assert len({row["text"] for row in rows}) == 2000
    assert synthetic_events(0, seed=0) == []


def test_entity_labels_are_balanced_with_a_substantial_neutral_share(rows: list[dict]) -> None:
    shares = summarize(rows)["entity_shares"]
    assert 0.28 <= shares["neutral"] <= 0.38, shares
    assert 0.28 <= shares["positive"] <= 0.40, shares
    assert 0.28 <= shares["negative"] <= 0.40, shares


def test_row_label_is_set_only_when_every_entity_agrees(rows: list[dict]) -> None:
    for row in rows:
        labels = _labels(row)
        assert row["sentiment"] == (labels.pop() if len(labels) == 1 else None), row


def test_contrast_rows_are_present_and_unlabelled(rows: list[dict]) -> None:
    contrast = [row for row in rows if {"positive", "negative"} <= _labels(row)]
    assert len(contrast) >= 0.1 * len(rows)
    assert all(row["sentiment"] is None for row in contrast)
    names = [{e["name"] for e in row["entities"] if e["sentiment"] != "neutral"} for row in contrast]
    assert all(len(polar) >= 2 for polar in names)  # two different companies, not one company twice


def test_brokers_and_agencies_are_never_polar(rows: list[dict]) -> None:
    speakers = load_tables().speaker_names
    listed = [e for row in rows for e in row["entities"] if e["name"] in speakers]
    assert listed, "some rows should list the broker"
    assert {e["sentiment"] for e in listed} == {"neutral"}
    assert not any(e["name"] in speakers for row in synthetic_events(300, 0, broker_share=0.0) for e in row["entities"])


def test_rated_company_keeps_its_polarity_beside_the_broker() -> None:
    speakers = load_tables().speaker_names
    rows = synthetic_events(1000, seed=3, broker_share=1.0)
    upgrades = [
        row for row in rows if row["text"].split()[1:2] == ["upgrades"] and row["entities"][0]["name"] in speakers
    ]
    assert upgrades
    for row in upgrades:
        subjects = [e["sentiment"] for e in row["entities"] if e["name"] not in speakers]
        assert "positive" in subjects and row["sentiment"] is None, row


def test_styles_vary(rows: list[dict]) -> None:
    names = [e["name"] for row in rows for e in row["entities"]]
    assert any(name.startswith("$") and name[1:].isupper() for name in names)
    assert any(name.startswith("$") and name[1:].islower() for name in names)
    assert any("&" in name for name in names) and any("." in name and not name.startswith("$") for name in names)
    assert any("<" in row["text"] and "(Reuters)" in row["text"] for row in rows)


def test_every_event_type_has_templates_and_contrast_events_exist() -> None:
    counts = template_counts()
    assert sum(counts.values()) == len(load_tables().templates)
    for event in ("earnings_beat", "upgrade", "dividend_cut", "factual_neutral", "contrast_earnings", "takeover_deal"):
        assert counts[event] >= 2
    kinds = Counter(template.kind for template in load_tables().templates)
    assert kinds["mixed"] >= 20 and kinds["neutral"] >= 20


@pytest.mark.parametrize("n", [-1, synthetic.MAX_ROWS + 1])
def test_an_impossible_count_is_refused(n: int) -> None:
    with pytest.raises(ModelConfigError, match="n must be"):
        synthetic_events(n, seed=0)


def test_slang_groups_are_written_as_tweets_only_and_only_when_asked(rows: list[dict]) -> None:
    slang = [template for template in load_tables().templates if template.event.startswith(synthetic.SLANG_PREFIX)]
    assert {template.styles for template in slang} == {("tweet",)}
    for seed, template in enumerate(slang):
        row = synthetic._render(random.Random(seed), load_tables(), template, broker_share=1.0)
        assert all(entity["name"].startswith("$") for entity in row["entities"]), row
        assert "(Reuters)" not in row["text"]
    slang_texts = {template.text.split("{")[0] for template in slang if not template.text.startswith("{")}
    with_slang = synthetic_events(2000, seed=0, slang=True)
    assert with_slang != rows and any("🚀" in row["text"] for row in with_slang)
    assert not any("🚀" in row["text"] or row["text"].startswith(tuple(slang_texts)) for row in rows)


def test_a_group_with_an_unknown_style_is_refused() -> None:
    with pytest.raises(ModelConfigError, match="styles"):
        synthetic._styles({"event": "x", "styles": ["telegram"]})
