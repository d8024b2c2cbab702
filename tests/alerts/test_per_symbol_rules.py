"""Per-symbol alert rules: they read the text's sentiment toward the symbol and may skip barely relevant documents."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from alerts.history import StoreHistory
from alerts.rules import Rule
from schemas import DocumentRow, ScoreRecord
from schemas.alerts import AlertInput
from storage import Store
from tests.alerts.test_engine import T0, engine, item, rule


def score_record(**changes: Any) -> ScoreRecord:
    fields: dict[str, Any] = {
        "doc_id": "d1", "kind": "news", "source": "wire", "symbol": "GM", "event_time": T0, "topic": "Earnings",
        "topic_confidence": 0.9, "sentiment": 1, "p_negative": 0.02, "p_neutral": 0.03, "p_positive": 0.95,
        "score": 0.93, "model_version": "m", "ingested_at": T0, "headline": "Ford beats while GM misses",
        "symbol_sentiment": -1, "symbol_score": -0.8, "symbol_source": "mention", "relevance": 40,
    }  # fmt: skip
    return ScoreRecord(**(fields | changes))


def test_symbol_inputs_carry_the_symbols_score_and_relevance_topic_and_market_the_documents() -> None:
    inputs = {i.scope: i for i in (AlertInput.model_validate(f) for _, f in AlertInput.fields_of(score_record()))}
    assert (inputs["symbol"].score, inputs["symbol"].sentiment, inputs["symbol"].relevance) == (-0.8, -1, 40)
    for scope in ("topic", "all"):
        assert (inputs[scope].score, inputs[scope].sentiment, inputs[scope].relevance) == (0.93, 1, 100)
    older = ScoreRecord.model_validate(score_record().model_dump(exclude={"symbol_sentiment", "symbol_score",
                                                                          "symbol_source", "relevance"}))  # fmt: skip
    (symbol_input, *_) = AlertInput.fields_of(older)
    assert (symbol_input[1]["score"], symbol_input[1]["relevance"]) == (0.93, 100), "older records: the document's"
    legacy = {"scope": "symbol", "key": "GM", "doc_id": "d", "event_time": T0, "score": 0.1, "sentiment": 0}
    assert AlertInput.model_validate(legacy).relevance == 100, "inputs written before relevance still read"


def test_min_relevance_is_a_symbol_rules_setting_between_0_and_100() -> None:
    assert rule(min_relevance=60).min_relevance == 60 and rule().min_relevance == 0
    with pytest.raises(ValidationError, match="symbol rules only"):
        Rule(id="t", scope="topic", target="*", metric="volume", comparison=">", threshold=5, min_relevance=10)
    with pytest.raises(ValidationError, match="less than or equal to 100"):
        rule(min_relevance=101)


def test_a_rule_skips_documents_under_its_min_relevance_while_another_counts_them() -> None:
    every, relevant = rule(id="every"), rule(id="relevant", min_relevance=60)
    eng = engine(every, relevant)
    in_lists = eng.observe([item(i, i, relevance=20) for i in range(8)])
    assert [a.rule_id for a in in_lists] == ["every"], "eight passing mentions: only the rule counting them fires"
    about_it = eng.observe([item(10 + i, 10 + i, relevance=80) for i in range(5)])
    assert [(a.rule_id, a.doc_count) for a in about_it] == [("relevant", 5)]
    assert eng.keys == 2, "one state per (symbol, relevance floor)"


def ford_gm(doc_id: str, seconds: int, relevances: list[int]) -> DocumentRow:
    return DocumentRow(
        doc_id=doc_id, kind="news", source="wire", event_time=T0 + timedelta(seconds=seconds), ingested_at=T0,
        headline=f"Ford beats, GM misses {doc_id}", body="", url="", author_hash="", symbols=["F", "GM"],
        content_hash=doc_id, topic="Earnings", topic_confidence=0.9, sentiment=1, p_negative=0.02, p_neutral=0.03,
        p_positive=0.95, score=0.93, model_version="m", symbol_sentiments=[1, -1], symbol_scores=[0.9, -0.8],
        symbol_sources=["mention", "mention"], relevances=relevances,
    )  # fmt: skip


def test_the_history_gives_each_symbol_its_own_score_and_filters_by_relevance(alert_store: Store) -> None:
    alert_store.insert_documents([ford_gm("a", 0, [90, 70]), ford_gm("b", 1, [90, 30])])
    history = StoreHistory(alert_store)
    details = history.details("symbol", ["F", "GM"], since=0)
    assert [d.score for d in details["F"]] == [pytest.approx(0.9)] * 2
    assert [(d.score, d.sentiment) for d in details["GM"]] == [(pytest.approx(-0.8), -1)] * 2
    assert [d.doc_id for d in history.details("symbol", ["GM"], since=0, min_relevance=50)["GM"]] == ["a"]
    aggregates = history.aggregates("symbol", ["GM"], since=0, until=2**31, min_relevance=50)["GM"]
    assert sum(a.count for a in aggregates) == 1 and sum(a.negatives for a in aggregates) == 1
    topic = history.details("topic", ["Earnings"], since=0)["Earnings"]
    assert [d.score for d in topic] == [pytest.approx(0.93)] * 2


def test_a_restarted_engine_rebuilds_a_filtered_rule_from_relevant_documents_only(alert_store: Store) -> None:
    alert_store.insert_documents([ford_gm(f"r{i}", i, [90, 80]) for i in range(4)])
    alert_store.insert_documents([ford_gm(f"p{i}", 10 + i, [90, 10]) for i in range(6)])
    restarted = engine(rule(min_relevance=50), history=StoreHistory(alert_store))
    # Four relevant stored documents and one new: five, the rule's minimum; the six passing mentions do not count.
    (alert,) = restarted.observe([item(99, 30, key="GM", relevance=80)])
    assert (alert.symbol, alert.doc_count) == ("GM", 5)


def test_rules_add_takes_min_relevance_for_symbol_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from alerts.rules import load_rules
    from finsent.alerts_cli import alerts

    monkeypatch.setenv("FINSENT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("FINSENT_ALERT_RULES_FILE", raising=False)
    add = ["rules", "add", "--id", "gm-gloom", "--metric", "mean_score", "--comparison", "<=", "--threshold", "-0.4"]
    result = CliRunner().invoke(alerts, [*add, "--scope", "symbol", "--target", "GM", "--min-relevance", "60"])
    assert result.exit_code == 0, result.output
    assert load_rules(tmp_path / "rules.yaml").by_id("gm-gloom").min_relevance == 60  # type: ignore[union-attr]
    listed = CliRunner().invoke(alerts, ["rules", "list"])
    assert "relevance >= 60" in listed.output
    topic = CliRunner().invoke(alerts, [*add, "--id", "t", "--scope", "topic", "--target", "*", "--min-relevance", "5"])
    assert topic.exit_code == 2 and "symbol rules only" in topic.output
