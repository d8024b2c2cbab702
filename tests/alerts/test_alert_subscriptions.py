"""Subscriptions against the fake Grafana: contact point + policy route + alert rule, all idempotent."""

from __future__ import annotations

import pytest

from alerts.exceptions import GrafanaRejected, SubscriptionError
from alerts.grafana import Grafana
from alerts.subscriptions import (
    FOLDER_UID,
    RULE_LABEL,
    alert_rule_uid,
    list_subscriptions,
    subscribe,
    unsubscribe,
)
from tests.fakes.grafana import DEFAULT_RECEIVER, FakeGrafana

UNRELATED = [
    {"receiver": DEFAULT_RECEIVER, "object_matchers": [["team", "=", "sre"]]},
    {"receiver": DEFAULT_RECEIVER, "object_matchers": [["severity", "=~", "crit.*"]], "continue": True},
]


def finsent_routes(fake: FakeGrafana) -> list[dict]:
    return [r for r in fake.policy_tree.get("routes", []) if r["receiver"].startswith("finsent:")]


def finsent_points(fake: FakeGrafana) -> list[dict]:
    return [p for p in fake.contact_points.values() if p["name"].startswith("finsent:")]


def writes(fake: FakeGrafana) -> list[str]:
    return [f"{r.method} {r.path}" for r in fake.requests if r.method != "GET"]


def test_subscribe_provisions_contact_point_route_and_alert_rule_once(
    grafana: Grafana, fake_grafana: FakeGrafana
) -> None:
    fake_grafana.policy_tree["routes"] = [dict(route) for route in UNRELATED]
    changes = subscribe(grafana, "neg-burst", email="ops@example.com", datasource_uid="finsent-clickhouse")
    assert changes.changed and len(changes.created) == 4  # contact point, route, folder, alert rule

    [point] = finsent_points(fake_grafana)
    assert (point["type"], point["settings"]["addresses"], point["provenance"]) == ("email", "ops@example.com", "")
    [route] = finsent_routes(fake_grafana)
    assert route == {"receiver": point["name"], "object_matchers": [[RULE_LABEL, "=", "neg-burst"]], "continue": True}
    assert fake_grafana.policy_tree["routes"][1:] == UNRELATED
    rule = fake_grafana.alert_rules[alert_rule_uid("neg-burst")]
    assert rule["uid"] == "finsent-rule-neg-burst" and rule["folderUID"] == FOLDER_UID in fake_grafana.folders
    assert rule["labels"] == {RULE_LABEL: "neg-burst"} and rule["provenance"] == ""
    query, reduce, threshold = rule["data"]
    assert query["datasourceUid"] == "finsent-clickhouse"
    assert query["model"]["datasource"]["type"] == "grafana-clickhouse-datasource"
    assert "FROM alerts WHERE rule_id = 'neg-burst'" in query["model"]["rawSql"]
    assert (reduce["model"]["type"], threshold["model"]["type"], rule["condition"]) == ("reduce", "threshold", "C")
    assert {reduce["datasourceUid"], threshold["datasourceUid"]} == {"__expr__"}
    provisioning_writes = [r for r in fake_grafana.requests if "/provisioning/" in r.path and r.method != "GET"]
    assert all(r.headers.get("X-Disable-Provenance") == "true" for r in provisioning_writes)

    before = writes(fake_grafana)
    again = subscribe(grafana, "neg-burst", email="ops@example.com")
    assert not again.changed and writes(fake_grafana) == before  # the second call only reads
    assert len(finsent_points(fake_grafana)) == len(finsent_routes(fake_grafana)) == len(fake_grafana.alert_rules) == 1
    assert fake_grafana.violations == []


def test_list_and_unsubscribe_remove_everything_but_unrelated_routes(
    grafana: Grafana, fake_grafana: FakeGrafana
) -> None:
    fake_grafana.policy_tree["routes"] = [dict(route) for route in UNRELATED]
    subscribe(grafana, "neg-burst", email="ops@example.com")
    subscribe(grafana, "neg-burst", slack="https://hooks.slack.com/services/T0/B0/XYZ")
    subscribe(grafana, "fed-topic", webhook="https://hooks.example.com/finsent")

    listed = list_subscriptions(grafana)
    assert sorted((s.rule_id, s.kind) for s in listed) == [
        ("fed-topic", "webhook"),
        ("neg-burst", "email"),
        ("neg-burst", "slack"),
    ]
    assert all(s.routed and s.alert_rule_uid == alert_rule_uid(s.rule_id) for s in listed)
    assert {s.target for s in listed if s.kind != "slack"} == {"ops@example.com", "https://hooks.example.com/finsent"}
    assert [s.kind for s in list_subscriptions(grafana, "fed-topic")] == ["webhook"]

    changes = unsubscribe(grafana, "neg-burst", "ops@example.com")  # one of two subscribers: the rule stays
    assert len(changes.deleted) == 2 and alert_rule_uid("neg-burst") in fake_grafana.alert_rules
    unsubscribe(grafana, "neg-burst")
    unsubscribe(grafana, "fed-topic", "https://hooks.example.com/finsent")
    assert finsent_points(fake_grafana) == finsent_routes(fake_grafana) == []
    assert fake_grafana.alert_rules == {}
    assert fake_grafana.policy_tree["routes"] == UNRELATED
    assert list_subscriptions(grafana) == []

    assert not unsubscribe(grafana, "neg-burst").changed  # unknown: no error, no change
    assert not unsubscribe(grafana, "never-subscribed", "nobody@example.com").changed
    assert fake_grafana.violations == []


def test_a_half_done_subscription_is_completed_and_cleaned_up(grafana: Grafana, fake_grafana: FakeGrafana) -> None:
    subscribe(grafana, "neg-burst", email="ops@example.com")
    fake_grafana.policy_tree["routes"] = []  # as if the run had stopped after the contact point
    del fake_grafana.alert_rules[alert_rule_uid("neg-burst")]
    [half] = list_subscriptions(grafana)
    assert not half.routed and half.alert_rule_uid is None
    changes = subscribe(grafana, "neg-burst", email="ops@example.com")
    assert changes.created == ["policy-route " + half.contact_point_name, "alert-rule finsent-rule-neg-burst"]
    fake_grafana.policy_tree["routes"] = []
    unsubscribe(grafana, "neg-burst")  # an orphan contact point (no route) is removed too
    assert finsent_points(fake_grafana) == [] and fake_grafana.alert_rules == {}
    assert fake_grafana.violations == []


def test_odd_rule_ids_get_valid_uids_and_escaped_sql(grafana: Grafana, fake_grafana: FakeGrafana) -> None:
    rule_id = "o'neil: neg share > 0.6 \\ all"
    subscribe(grafana, rule_id, webhook="http://hooks.example.com/x")
    [rule] = fake_grafana.alert_rules.values()
    assert rule["uid"].startswith("finsent-rule-") and len(rule["uid"]) <= 40
    assert "rule_id = 'o\\'neil: neg share > 0.6 \\\\ all'" in rule["data"][0]["model"]["rawSql"]
    assert [s.rule_id for s in list_subscriptions(grafana)] == [rule_id]
    unsubscribe(grafana, rule_id)
    assert fake_grafana.alert_rules == {} and finsent_points(fake_grafana) == []
    assert fake_grafana.violations == []


def test_an_unknown_data_source_is_grafanas_clear_refusal(grafana: Grafana, fake_grafana: FakeGrafana) -> None:
    with pytest.raises(GrafanaRejected, match="data source 'nope' not found"):
        subscribe(grafana, "neg-burst", email="ops@example.com", datasource_uid="nope")
    assert subscribe(grafana, "neg-burst", email="ops@example.com").created == ["alert-rule finsent-rule-neg-burst"]
    assert fake_grafana.violations == []


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ({}, "give one of"),
        ({"email": "a@example.com", "slack": "https://hooks.slack.com/x"}, "only one"),
        ({"email": "not-an-address"}, "not an email"),
        ({"webhook": "ftp://example.com"}, "http"),
    ],
)
def test_malformed_targets_are_refused_before_any_request(
    grafana: Grafana, fake_grafana: FakeGrafana, targets: dict, message: str
) -> None:
    with pytest.raises(SubscriptionError, match=message):
        subscribe(grafana, "neg-burst", **targets)
    assert fake_grafana.requests == []
