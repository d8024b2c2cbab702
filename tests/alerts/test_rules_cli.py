"""``finsent alerts rules``: list, add, remove, check; idempotent, with clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from alerts.rules import DEFAULT_RULES_FILE, load_rules
from finsent.alerts_cli import alerts

ADD = ["rules", "add", "--id", "nvda-gloom", "--scope", "symbol", "--target", "nvda", "--metric", "mean_score",
       "--comparison", "<=", "--threshold", "-0.4", "--window", "10m"]  # fmt: skip


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FINSENT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("FINSENT_ALERT_RULES_FILE", raising=False)
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(alerts, list(args))
    return result.exit_code, result.output


def test_add_seeds_the_data_dir_file_from_the_defaults_and_is_idempotent(data_dir: Path) -> None:
    code, out = run(*ADD)
    assert code == 0, out
    assert json.loads(out) == {"rule": "nvda-gloom", "changed": True, "file": str(data_dir / "rules.yaml")}
    assert run(*ADD)[1].count('"changed": false') == 1
    saved = load_rules(data_dir / "rules.yaml")
    defaults = load_rules(DEFAULT_RULES_FILE)
    assert saved.rules[:-1] == defaults.rules
    added = saved.by_id("nvda-gloom")
    assert added is not None and (added.target, added.window) == ("NVDA", 600)


def test_a_different_rule_under_a_known_id_needs_replace(data_dir: Path) -> None:
    run(*ADD)
    code, out = run(*ADD[:-1], "15m")
    assert code == 5 and "remove it first or replace it" in out
    code, out = run(*ADD[:-1], "15m", "--replace")
    assert code == 0 and json.loads(out)["changed"] is True
    assert load_rules(data_dir / "rules.yaml").by_id("nvda-gloom").window == 900  # type: ignore[union-attr]


def test_invalid_rules_are_usage_errors(data_dir: Path) -> None:
    code, out = run(*ADD[:-1], "2h")
    assert code == 2 and "window: must be between 1m and 1h" in out
    assert not (data_dir / "rules.yaml").exists()


def test_list_and_remove(data_dir: Path) -> None:
    code, out = run("rules", "list")
    assert code == 0 and out.splitlines()[0] == f"# 5 rules from {DEFAULT_RULES_FILE}"
    run(*ADD)
    code, out = run("rules", "list", "--format", "json")
    assert [rule["id"] for rule in json.loads(out)][-1] == "nvda-gloom"
    assert json.loads(run("rules", "remove", "nvda-gloom")[1])["changed"] is True
    assert json.loads(run("rules", "remove", "nvda-gloom")[1])["changed"] is False


def test_check_reports_the_broken_rule(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - {id: a, scope: topic, metric: volume, comparison: '>', threshold: 1, window: 1d}\n")
    code, out = run("rules", "check", str(path))
    assert code == 5 and "rule a: window" in out
    assert run("rules", "check", str(DEFAULT_RULES_FILE)) == (0, f"{DEFAULT_RULES_FILE}: 5 valid rules\n")
