"""``novel_only`` rules count each story once: thirty reposts of one headline are not a burst."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from alerts.engine import AlertEngine, Detail
from alerts.history import StoreHistory
from alerts.rules import DEFAULT_RULES_FILE, Rule, load_rules
from finsent.alerts_cli import alerts
from schemas import ScoreRecord
from schemas.alerts import AlertInput
from storage import Store
from tests.alerts.test_per_symbol_rules import ford_gm

T0 = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
HEADLINE = "Nvidia sinks as major customer cancels contract"


def shipped_burst_rule(**changes: Any) -> Rule:
    rule = load_rules(DEFAULT_RULES_FILE).by_id("symbol-negative-burst")
    assert rule is not None
    return rule.model_copy(update=changes)


def copy_of_one_story(n: int) -> AlertInput:
    """The n-th copy of one negative headline (the stream gives copies after the first novelty < 100)."""
    novelty = round(100 * 0.75**n)
    headline = HEADLINE if n == 0 else f"$NVDA - {HEADLINE} #{n}"
    return AlertInput(
        scope="symbol", key="NVDA", doc_id=f"copy{n}", event_time=T0 + timedelta(seconds=5 * n),
        score=-0.8, sentiment=-1, headline=headline, novelty=novelty,
    )  # fmt: skip


def distinct_story(n: int) -> AlertInput:
    return AlertInput(
        scope="symbol", key="NVDA", doc_id=f"story{n}", event_time=T0 + timedelta(seconds=5 * n),
        score=-0.8, sentiment=-1, headline=f"Nvidia story number {n}", novelty=100,
    )  # fmt: skip


def observe(rule: Rule, inputs: list[AlertInput]) -> list[Any]:
    return AlertEngine(lambda: [rule]).observe(inputs)


def test_the_shipped_burst_rule_counts_stories() -> None:
    assert shipped_burst_rule().novel_only
    assert not Rule(id="r", scope="all", metric="volume", comparison=">=", threshold=1).novel_only


def test_thirty_copies_of_one_negative_headline_fire_only_without_novel_only() -> None:
    copies = [copy_of_one_story(n) for n in range(30)]
    assert observe(shipped_burst_rule(novel_only=True), copies) == []
    fired = observe(shipped_burst_rule(novel_only=False), copies)
    assert [alert.rule_id for alert in fired] == ["symbol-negative-burst"]
    assert fired[0].doc_count == 30


def test_a_burst_of_distinct_stories_still_fires_with_novel_only() -> None:
    fired = observe(shipped_burst_rule(novel_only=True), [distinct_story(n) for n in range(20)])
    assert [alert.doc_count for alert in fired] == [20]


def test_novel_only_headlines_list_no_copies() -> None:
    inputs = [distinct_story(n) for n in range(16)] + [copy_of_one_story(n) for n in range(1, 10)]
    fired = observe(shipped_burst_rule(novel_only=True), inputs)
    assert len(fired) == 1 and fired[0].doc_count == 16
    assert not any(headline.startswith("$NVDA") for headline in fired[0].headlines)


def test_rebuilt_keys_count_only_novel_documents_from_history() -> None:
    class History:
        def aggregates(self, *args: Any) -> dict[str, list[Any]]:
            return {}

        def details(self, scope: str, keys: Any, since: int, min_relevance: int = 0) -> dict[str, list[Detail]]:
            at = int(T0.timestamp())
            copies = [Detail(f"old{n}", at + n, -0.8, -1, HEADLINE, novel=n == 0) for n in range(20)]
            return {"NVDA": copies}

        def last_alerts(self, *args: Any) -> dict[str, dict[str, int]]:
            return {}

    one_more = copy_of_one_story(21)
    assert AlertEngine(lambda: [shipped_burst_rule()], History()).observe([one_more]) == []  # type: ignore[arg-type]
    fired = AlertEngine(lambda: [shipped_burst_rule(novel_only=False)], History()).observe([one_more])  # type: ignore[arg-type]
    assert len(fired) == 1


def test_a_rule_with_min_relevance_and_novel_only_counts_relevant_first_documents_only() -> None:
    copies = [copy_of_one_story(n).model_copy(update={"relevance": 90}) for n in range(30)]
    passing = [
        distinct_story(n).model_copy(update={"doc_id": f"passing{n}", "relevance": 30, "event_time": at})
        for n, at in enumerate(T0 + timedelta(seconds=5 * n + 2) for n in range(20))
    ]
    rules = [
        shipped_burst_rule(id="both", min_relevance=60),
        shipped_burst_rule(id="relevant", min_relevance=60, novel_only=False),
        shipped_burst_rule(id="novel", min_relevance=0),
    ]
    engine = AlertEngine(lambda: rules)
    fired = {alert.rule_id: alert.doc_count for alert in engine.observe(copies + passing)}
    # One relevant story (its 30 copies) and 20 barely relevant stories: only rules dropping one filter fire.
    assert fired == {"relevant": 30, "novel": 21}
    assert engine.keys == 2, "one state per (symbol, relevance floor); novel-only counts live inside each"


def test_a_restarted_engine_rebuilds_a_relevance_and_novelty_filtered_rule_from_the_store(alert_store: Store) -> None:
    def gm(doc_id: str, seconds: int, gm_relevance: int, story_id: str = "", novelty: int = 100) -> Any:
        row = ford_gm(doc_id, seconds, [90, gm_relevance])
        return row.model_copy(update={"story_id": story_id or doc_id, "novelty": novelty})

    stories = [gm(f"s{i}", i, 80) for i in range(14)]
    copies = [gm(f"c{i}", 14 + i, 80, story_id="s0", novelty=50) for i in range(10)]
    passing = [gm(f"p{i}", 30 + i, 10) for i in range(6)]
    alert_store.insert_documents(stories + copies + passing)
    history = StoreHistory(alert_store)
    details = history.details("symbol", ["GM"], since=0, min_relevance=50)["GM"]
    assert sorted(d.doc_id for d in details if d.novel) == sorted(f"s{i}" for i in range(14))
    assert len(details) == 24, "copies are kept for rules counting every document"
    one_more = AlertInput(
        scope="symbol", key="GM", doc_id="new", event_time=T0 + timedelta(seconds=40), score=-0.8, sentiment=-1,
        headline="GM misses", relevance=80, novelty=100,
    )  # fmt: skip
    both = shipped_burst_rule(id="both", min_relevance=50)
    (alert,) = AlertEngine(lambda: [both], history).observe([one_more])
    assert (alert.symbol, alert.doc_count) == ("GM", 15), "14 stored relevant stories and the new one"


def test_score_records_carry_novelty_to_the_rule_engine_and_older_records_default_to_novel() -> None:
    record = {
        "doc_id": "d1", "kind": "social", "source": "x", "symbol": "NVDA", "event_time": T0, "topic": "t",
        "topic_confidence": 0.5, "sentiment": -1, "p_negative": 0.8, "p_neutral": 0.1, "p_positive": 0.1,
        "score": -0.7, "model_version": "m", "ingested_at": T0,
    }  # fmt: skip
    older = ScoreRecord.model_validate(record)
    assert older.novelty == 100 and older.story_id == ""
    copy = ScoreRecord.model_validate(record | {"novelty": 56, "story_id": "d0"})
    fields = dict(AlertInput.fields_of(copy))
    assert AlertInput(**fields["symbol:NVDA"]).novelty == 56
    assert not AlertInput(**fields["symbol:NVDA"]).novel


def test_rules_add_takes_novel_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINSENT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("FINSENT_ALERT_RULES_FILE", raising=False)
    add = ["rules", "add", "--id", "nvda-burst", "--scope", "symbol", "--target", "NVDA", "--metric",
           "negative_share", "--comparison", ">=", "--threshold", "0.6", "--novel-only"]  # fmt: skip
    result = CliRunner().invoke(alerts, add)
    assert result.exit_code == 0, result.output
    added = load_rules(tmp_path / "rules.yaml").by_id("nvda-burst")
    assert added is not None and added.novel_only
