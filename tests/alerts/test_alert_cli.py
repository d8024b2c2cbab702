"""``finsent alerts``: subscribe / list / unsubscribe against the fake Grafana, and clear errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from finsent.alerts_cli import alerts
from tests.fakes.grafana import TOKEN, FakeGrafana


@pytest.fixture
def grafana_env(fake_grafana: FakeGrafana, monkeypatch: pytest.MonkeyPatch) -> FakeGrafana:
    monkeypatch.setenv("FINSENT_GRAFANA_URL", fake_grafana.url)
    monkeypatch.setenv("FINSENT_GRAFANA_TOKEN", TOKEN)
    monkeypatch.setenv("FINSENT_GRAFANA_TIMEOUT_S", "1")
    return fake_grafana


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(alerts, list(args))
    return result.exit_code, result.output


def test_subscribe_list_unsubscribe(grafana_env: FakeGrafana) -> None:
    code, out = run("subscribe", "--rule", "neg-burst", "--email", "ops@example.com")
    assert code == 0, out
    assert json.loads(out)["changed"] is True
    code, out = run("subscribe", "--rule", "neg-burst", "--email", "ops@example.com")
    assert (code, json.loads(out)["changed"]) == (0, False)

    code, out = run("subscriptions", "--format", "json")
    [listed] = json.loads(out)
    assert (code, listed["rule_id"], listed["kind"], listed["target"]) == (0, "neg-burst", "email", "ops@example.com")
    code, out = run("subscriptions")
    assert code == 0 and out.startswith("neg-burst\temail\tops@example.com\tfinsent-cp-")

    code, out = run("unsubscribe", "--rule", "neg-burst")
    assert code == 0 and json.loads(out)["changed"] is True
    code, out = run("unsubscribe", "--rule", "neg-burst")
    assert (code, json.loads(out)) == (
        0,
        {"rule": "neg-burst", "changed": False, "created": [], "updated": [], "deleted": []},
    )
    assert run("subscriptions") == (0, "no subscriptions\n")
    assert grafana_env.violations == []


def test_an_unset_grafana_url_is_a_clear_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FINSENT_GRAFANA_URL", raising=False)
    for args in (
        ["subscriptions"],
        ["subscribe", "--rule", "r", "--email", "a@example.com"],
        ["unsubscribe", "--rule", "r"],
    ):
        code, out = run(*args)
        assert code == 2
        assert "FINSENT_GRAFANA_URL is not set" in out


def test_an_unreachable_grafana_is_a_clear_error_without_the_token(grafana_env: FakeGrafana) -> None:
    grafana_env.down()
    code, out = run("subscribe", "--rule", "neg-burst", "--email", "ops@example.com")
    assert code == 5
    assert "Grafana is unreachable" in out and "Connection refused" in out
    assert TOKEN not in out


def test_a_refused_token_and_bad_targets_are_clear_errors(grafana_env: FakeGrafana, monkeypatch) -> None:
    code, out = run("subscribe", "--rule", "neg-burst", "--email", "a@example.com", "--slack", "https://x.example")
    assert code == 2 and "only one of --email, --webhook or --slack" in out
    monkeypatch.setenv("FINSENT_GRAFANA_TOKEN", "wrong-s3cret")
    code, out = run("subscriptions")
    assert code == 5 and "refused FINSENT_GRAFANA_TOKEN" in out and "s3cret" not in out
    assert grafana_env.violations == []
