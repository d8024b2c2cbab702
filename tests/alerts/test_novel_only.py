"""``novel_only`` rules count each story once: thirty reposts of one headline are not a burst."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from alerts.engine import AlertEngine, Detail
from alerts.rules import DEFAULT_RULES_FILE, Rule, load_rules
from finsent.alerts_cli import alerts
from schemas import ScoreRecord
from schemas.alerts import AlertInput

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

        def details(self, scope: str, keys: Any, since: int) -> dict[str, list[Detail]]:
            at = int(T0.timestamp())
            copies = [Detail(f"old{n}", at + n, -0.8, -1, HEADLINE, novel=n == 0) for n in range(20)]
            return {"NVDA": copies}

        def last_alerts(self, *args: Any) -> dict[str, dict[str, int]]:
            return {}

    one_more = copy_of_one_story(21)
    assert AlertEngine(lambda: [shipped_burst_rule()], History()).observe([one_more]) == []  # type: ignore[arg-type]
    fired = AlertEngine(lambda: [shipped_burst_rule(novel_only=False)], History()).observe([one_more])  # type: ignore[arg-type]
    assert len(fired) == 1


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
