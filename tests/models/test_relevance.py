"""Relevance of a document to its symbols (models.entities.relevance) and how a symbol's mention
readings are combined (models.symbol_sentiment)."""

from __future__ import annotations

from types import SimpleNamespace

from models import Prediction
from models.classifier import EntityPrediction
from models.entities import Mention, MentionKind, SymbolExtractor
from models.entities.relevance import EXPLICIT_ONLY_RELEVANCE, document_relevances, relevance
from models.symbol_sentiment import (
    MENTIONS_SCORED_PER_SYMBOL,
    mentions_to_score,
    plan_mentions,
    reads_mentions_for,
    symbol_sentiments,
)

EXTRACTOR = SymbolExtractor.default()
DOCUMENT = Prediction("Earnings", 0.9, 1, "positive", 0.1, 0.1, 0.8, 0.7, "fake")


def relevances(headline: str, body: str = "", explicit: tuple[str, ...] = ()) -> dict[str, int]:
    text = f"{headline}\n{body}" if body else headline
    return document_relevances(EXTRACTOR.mentions(text, explicit), len(headline), len(text))


def test_a_headline_subject_outranks_a_company_named_only_in_the_body() -> None:
    found = relevances("Apple beats estimates", "Analysts had expected less. Supplier Nvidia was not mentioned.")
    assert found["AAPL"] > found["NVDA"]
    assert found["AAPL"] >= 90


def test_an_early_body_mention_outranks_a_late_one() -> None:
    body = "Microsoft said on Tuesday it would hire. " + "Filler sentence about the market. " * 20 + "Oracle too."
    found = relevances("Tech hiring picks up", body)
    assert found["MSFT"] > found["ORCL"]
    assert 30 <= found["ORCL"] < found["MSFT"] <= 70


def test_the_first_of_forty_tickers_scores_low_and_above_the_fortieth() -> None:
    tickers = [f"$A{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(40)]
    found = relevances(" ".join(tickers) + " all rallied")
    first, last = found[tickers[0][1:]], found[tickers[-1][1:]]
    assert first > last
    assert first <= 25  # a passing mention in a list
    alone = relevances(f"{tickers[0]} rallied")
    assert alone[tickers[0][1:]] == 100


def test_repeated_mentions_raise_relevance_and_crowding_lowers_it() -> None:
    once = relevances("Markets close", "Investors bought Intel shares.")
    thrice = relevances("Markets close", "Investors bought Intel shares. Intel rose. Intel said more.")
    assert thrice["INTC"] > once["INTC"]
    crowded = relevances("Markets close", "Investors bought Intel, Oracle, Nvidia, Apple and Amazon shares.")
    assert crowded["INTC"] < once["INTC"]


def test_brokers_are_not_subjects_and_explicit_only_tickers_get_the_stated_value() -> None:
    found = relevances("Citi reiterates neutral on Pfizer", explicit=("TSLA", "PFE"))
    assert "C" not in found
    assert found["PFE"] >= 80  # the broker does not crowd the subject out; the text's value, not the stated one
    assert found["TSLA"] == EXPLICIT_ONLY_RELEVANCE


def test_relevance_is_bounded() -> None:
    assert relevance(0, 1000, 1.0, 10, 10) == 100
    assert relevance(10_000, 1, 1e-9, 10, 10_000) == 1
    assert relevance(0, 1, 1.0, 0, 50) == 70  # no headline: a first word of the body


def _entity(start: int, positive: bool, source: str = "mention") -> EntityPrediction:
    if positive:
        return EntityPrediction(start, start + 1, 1, "positive", 0.1, 0.1, 0.8, 0.7, source)  # type: ignore[arg-type]
    return EntityPrediction(start, start + 1, -1, "negative", 0.7, 0.2, 0.1, -0.6, source)  # type: ignore[arg-type]


def test_mentions_weigh_toward_the_headline_and_the_earliest() -> None:
    mentions = [Mention("F", 0, 4, MentionKind.NAME), Mention("F", 30, 34, MentionKind.NAME),
                Mention("F", 40, 44, MentionKind.NAME)]  # fmt: skip
    plan = mentions_to_score(mentions, headline_end=20, text_end=60)
    assert plan.weights == [2.0, 1 / 2, 1 / 3]
    (ford,) = symbol_sentiments(plan, DOCUMENT, [_entity(0, True), _entity(30, False), _entity(40, False)])
    assert (ford.sentiment, ford.source) == (1, "mention")  # the headline outweighs two later body mentions
    expected = (2 * 0.7 + 0.5 * -0.6 + -0.6 / 3) / (2 + 0.5 + 1 / 3)
    assert abs(ford.score - expected) < 1e-9
    late = mentions_to_score(mentions, headline_end=0, text_end=60)
    (body_only,) = symbol_sentiments(late, DOCUMENT, [_entity(0, False), _entity(30, True), _entity(40, True)])
    assert body_only.sentiment == -1 and abs(body_only.score) < 0.05  # the first weighs about as much as the next two


def test_copied_readings_and_explicit_only_symbols_keep_the_document_values() -> None:
    plan = plan_mentions(EXTRACTOR, "Ford beats estimates", ["TSLA"], headline_end=20)
    assert plan.symbols == ["F", "TSLA"] and plan.spans == [(0, 4)]
    copied = symbol_sentiments(plan, DOCUMENT, [_entity(0, False, source="document")])
    assert [(s.symbol, s.sentiment, s.score, s.source) for s in copied] == [
        ("F", 1, 0.7, "document"), ("TSLA", 1, 0.7, "document"),
    ]  # fmt: skip
    read = symbol_sentiments(plan, DOCUMENT, [_entity(0, False)])
    assert [(s.symbol, s.sentiment, s.source, s.relevance) for s in read] == [
        ("F", -1, "mention", 100), ("TSLA", 1, "document", EXPLICIT_ONLY_RELEVANCE),
    ]  # fmt: skip


def test_only_the_earliest_mentions_of_a_symbol_are_read() -> None:
    text = " ".join(["$NVDA up"] * 10)
    plan = plan_mentions(EXTRACTOR, text, (), headline_end=len(text))
    assert len(plan.spans) == MENTIONS_SCORED_PER_SYMBOL
    assert plan.spans[0] == (0, 5)


def test_a_route_models_mentions_are_read_by_an_entity_head_only_where_it_has_none() -> None:
    student = SimpleNamespace(spec=SimpleNamespace(entity_head=True))
    teacher = SimpleNamespace(spec=SimpleNamespace(entity_head=False))
    assert reads_mentions_for(student, teacher)
    assert not reads_mentions_for(student, student)  # the same model reads its own mentions in its one pass
    assert not reads_mentions_for(teacher, student)  # a reader without a head has nothing to add
    assert not reads_mentions_for(student, SimpleNamespace(spec=SimpleNamespace(entity_head=True)))
