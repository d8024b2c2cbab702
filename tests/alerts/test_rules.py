"""Rules files: parsing, validation messages, the shipped defaults, and reloading."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from alerts.rules import (
    DEFAULT_RULES_FILE,
    Rule,
    RuleBook,
    RuleError,
    load_rules,
    parse_duration,
    rules_file,
    save_rules,
)
from config import Settings

BASE = {"id": "r1", "scope": "symbol", "target": "nvda", "metric": "mean_score", "comparison": "<", "threshold": -0.3}


def test_shipped_rules_load_and_cover_every_scope() -> None:
    rules = load_rules(DEFAULT_RULES_FILE).rules
    assert {rule.scope for rule in rules} == {"symbol", "topic", "all"}
    assert any(rule.id == "symbol-negative-burst" for rule in rules)


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("5m", 300), ("1h", 3600), (" 10 m ", 600), (30, 30)])
def test_durations(text: object, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["5 minutes", "-1m", "1w", "", True])
def test_bad_durations_are_refused(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_symbol_targets_are_upper_cased_and_defaults_apply() -> None:
    rule = Rule(**BASE)
    assert (rule.target, rule.window, rule.hop, rule.min_docs, rule.severity) == ("NVDA", 300, 30, 10, "warning")
    assert rule.applies_to("symbol", "NVDA") and not rule.applies_to("symbol", "AAPL")
    assert not rule.applies_to("topic", "NVDA")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"window": "30s"}, "between 1m and 1h"),
        ({"window": "2h"}, "between 1m and 1h"),
        ({"hop": "15s"}, "multiple of 10s"),
        ({"hop": "10m"}, "hop must be between"),
        ({"scope": "all", "target": "NVDA"}, "takes no target"),
        ({"target": ""}, "needs a target"),
        ({"metric": "negative_share", "threshold": 2}, "negative_share threshold must be between 0 and 1"),
        ({"metric": "sharpe"}, "Input should be"),
        ({"colour": "red"}, "Extra inputs"),
    ],
)
def test_invalid_rules_are_refused_with_the_reason(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Rule(**(BASE | change))


def test_recovery_needs_the_hysteresis_margin() -> None:
    below = Rule(**(BASE | {"threshold": -0.3, "hysteresis": 0.1}))
    assert below.fires(-0.31) and not below.fires(-0.3)
    assert not below.recovered(-0.25) and below.recovered(-0.19)
    above = Rule(**(BASE | {"metric": "negative_share", "comparison": ">=", "threshold": 0.6, "hysteresis": 0.2}))
    assert above.fires(0.6) and not above.recovered(0.5) and above.recovered(0.39)


def test_a_bad_rules_file_names_the_rule_and_field(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n  - {id: good, scope: all, metric: volume, comparison: '>', threshold: 5}\n"
        "  - {id: broken, scope: all, metric: volume, comparison: '=>', threshold: 5}\n"
    )
    with pytest.raises(RuleError, match=r"rule broken: comparison"):
        load_rules(path)
    path.write_text("rules: [\n")
    with pytest.raises(RuleError, match="not valid YAML"):
        load_rules(path)
    with pytest.raises(RuleError, match="cannot read"):
        load_rules(tmp_path / "missing.yaml")


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    save_rules(path, [Rule(**BASE)])
    path.write_text(path.read_text() + path.read_text().split("rules:\n", 1)[1])
    with pytest.raises(RuleError, match="appears twice"):
        load_rules(path)


def test_save_then_load_round_trips(tmp_path: Path) -> None:
    rules = load_rules(DEFAULT_RULES_FILE).rules
    path = tmp_path / "nested" / "rules.yaml"
    save_rules(path, rules)
    assert load_rules(path).rules == rules


def test_the_rules_file_in_the_data_dir_wins_over_the_defaults(tmp_path: Path) -> None:
    editable = Settings(data_dir=tmp_path).rules_file
    assert editable == tmp_path / "rules.yaml"
    assert rules_file(editable) == DEFAULT_RULES_FILE
    save_rules(editable, [Rule(**BASE)])
    assert rules_file(editable) == editable
    other = Settings(data_dir=tmp_path, alert_rules_file=tmp_path / "other.yaml").rules_file
    assert other == tmp_path / "other.yaml"
    assert rules_file(other) == DEFAULT_RULES_FILE  # configured, but not written yet
    save_rules(other, [Rule(**BASE)])
    assert rules_file(other) == other


def test_rule_book_falls_back_to_the_defaults_until_the_file_appears(tmp_path: Path) -> None:
    now = [0.0]
    book = RuleBook(tmp_path / "rules.yaml", check_every_s=1, clock=lambda: now[0])
    assert book.source == DEFAULT_RULES_FILE and len(book.rules) == 5
    save_rules(tmp_path / "rules.yaml", [Rule(**BASE)])
    now[0] = 2.0
    assert [rule.id for rule in book.rules] == ["r1"] and book.source == tmp_path / "rules.yaml"
    (tmp_path / "rules.yaml").unlink()
    now[0] = 4.0
    assert len(book.rules) == 5


def test_rule_book_reloads_a_changed_file_and_keeps_the_last_good_rules(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    save_rules(path, [Rule(**BASE)])
    now = [0.0]
    book = RuleBook(path, check_every_s=5, clock=lambda: now[0])
    assert [rule.id for rule in book.rules] == ["r1"]
    save_rules(path, [Rule(**BASE), Rule(**(BASE | {"id": "r2", "threshold": -0.5}))])
    assert [rule.id for rule in book.rules] == ["r1"]  # not checked again yet
    now[0] = 6.0
    assert [rule.id for rule in book.rules] == ["r1", "r2"]
    path.write_text("rules: {broken")
    now[0] = 12.0
    assert [rule.id for rule in book.rules] == ["r1", "r2"]


@given(
    threshold=st.floats(-1, 1, allow_nan=False),
    hysteresis=st.floats(0, 1, allow_nan=False),
    value=st.floats(-1, 1, allow_nan=False),
    comparison=st.sampled_from(["<", "<=", ">", ">="]),
)
def test_a_value_that_fires_never_counts_as_recovered(
    threshold: float, hysteresis: float, value: float, comparison: str
) -> None:
    rule = Rule(**(BASE | {"threshold": threshold, "hysteresis": hysteresis, "comparison": comparison}))
    assert not (rule.fires(value) and rule.recovered(value))


@pytest.mark.parametrize(
    ("metric", "threshold", "message"),
    [
        ("mean_score", float("nan"), "finite number"),
        ("mean_score", float("inf"), "finite number"),
        ("mean_score", 7, "a mean_score threshold must be between -1 and 1, got 7"),
        ("negative_share", 1.5, "a negative_share threshold must be between 0 and 1"),
        ("volume", -3, "a volume threshold must be between 0 and inf, got -3"),
        ("score_change", 2.5, "a score_change threshold must be between -2 and 2"),
    ],
)
def test_thresholds_outside_what_the_metric_can_take_are_refused_naming_the_field(
    metric: str, threshold: float, message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        Rule(**(BASE | {"metric": metric, "threshold": threshold}))
    (error,) = caught.value.errors()
    assert error["loc"] == ("threshold",)
    assert message in error["msg"]


def test_any_finite_zscore_threshold_is_accepted() -> None:
    assert Rule(**(BASE | {"metric": "volume_zscore", "threshold": -4.5})).threshold == -4.5


def test_a_broken_rules_file_is_reported_by_line_and_column_without_its_contents(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - id: ok\n    threshold: [secret-token-123\n")
    with pytest.raises(RuleError) as caught:
        load_rules(path)
    message = str(caught.value)
    assert "not valid YAML: line 4, column 1:" in message and "secret-token-123" not in message
