"""Subscriptions: Grafana itself notifies people when a finsent rule raises alerts.

Grafana's Alertmanager takes no alerts from outside, so a subscription to rule R is three
things provisioned through Grafana's alerting provisioning API:

1. a contact point (email, webhook or Slack), uid and name derived from (R, kind, target);
2. a route in the notification policy tree sending alerts labelled ``finsent_rule=R`` to it
   (``continue: true``, so several subscribers of one rule are all notified);
3. a Grafana-managed alert rule ``finsent-rule-R`` (shared by R's subscribers, in folder
   ``finsent``) that counts R's new rows in the ClickHouse ``alerts`` table and fires when
   there are any.

Every function is idempotent: a second ``subscribe`` changes nothing, ``unsubscribe`` of
something unknown is no error, and a run interrupted half-way is completed by the next one.
Resources are created with ``X-Disable-Provenance: true`` so people can still edit them in the UI.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from alerts.exceptions import SubscriptionError
from alerts.grafana import Grafana
from storage.grafana_sql import new_alerts_sql

Kind = Literal["email", "webhook", "slack"]
KINDS: tuple[Kind, ...] = ("email", "webhook", "slack")

FOLDER_UID = "finsent"
FOLDER_TITLE = "finsent"
RULE_GROUP = "finsent"
RULE_LABEL = "finsent_rule"
RULE_UID_PREFIX = "finsent-rule-"
CONTACT_UID_PREFIX = "finsent-cp-"
CONTACT_NAME_PREFIX = "finsent:"
CLICKHOUSE_PLUGIN = "grafana-clickhouse-datasource"
EXPRESSION_DATASOURCE = "__expr__"
LOOKBACK_S = 120
"""Rows newer than this count as new: the last minute, plus one evaluation interval (1 min) of slack."""
SPEC_ANNOTATION = "finsent_spec"
_UID_SAFE = re.compile(r"^[A-Za-z0-9_-]{1,27}$")
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")


@dataclass(frozen=True)
class Target:
    """Where notifications go: an email address, a webhook URL or a Slack incoming-webhook URL."""

    kind: Kind
    address: str


@dataclass(frozen=True)
class Subscription:
    """One subscriber of one rule, as provisioned in Grafana."""

    rule_id: str
    kind: str
    target: str
    """The address or URL; secret URLs (Slack) come back from Grafana redacted."""
    contact_point_uid: str
    contact_point_name: str
    routed: bool
    """Whether the policy tree routes the rule's alerts to this contact point."""
    alert_rule_uid: str | None
    """The rule's Grafana alert rule, or None if missing."""


@dataclass
class Changes:
    """What one call changed in Grafana, as ``"<kind> <id>"`` strings; all empty = nothing to do."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether anything was created, updated or deleted."""
        return bool(self.created or self.updated or self.deleted)


def subscribe(
    grafana: Grafana,
    rule_id: str,
    *,
    email: str | None = None,
    webhook: str | None = None,
    slack: str | None = None,
    datasource_uid: str = "finsent-clickhouse",
) -> Changes:
    """Notify one target (exactly one of ``email``, ``webhook``, ``slack``) when ``rule_id`` raises alerts."""
    _check_rule_id(rule_id)
    target = target_from(email=email, webhook=webhook, slack=slack)
    if target is None:
        raise SubscriptionError("give one of --email, --webhook or --slack")
    changes = Changes()
    point = contact_point_body(rule_id, target)
    if all(existing.get("uid") != point["uid"] for existing in grafana.contact_points()):
        grafana.create_contact_point(point)
        changes.created.append(f"contact-point {point['name']}")
    tree = grafana.policy_tree()
    outcome = _put_route(tree, route_for(rule_id, point["name"]))
    if outcome is not None:
        grafana.set_policy_tree(tree)
        (changes.created if outcome == "created" else changes.updated).append(f"policy-route {point['name']}")
    _ensure_alert_rule(grafana, rule_id, datasource_uid, changes)
    return changes


def unsubscribe(grafana: Grafana, rule_id: str, target: Target | str | None = None) -> Changes:
    """Stop notifying ``target`` (an address/URL, or every subscriber of the rule when None).

    The rule's Grafana alert rule is deleted once no subscriber is left.
    """
    _check_rule_id(rule_id)
    names, uids = _selected(grafana, rule_id, target)
    changes = Changes()
    tree = grafana.policy_tree()
    routes = tree.get("routes") or []
    kept = [route for route in routes if route.get("receiver") not in names]
    if len(kept) != len(routes):
        grafana.set_policy_tree({**tree, "routes": kept})
        changes.deleted += [f"policy-route {route['receiver']}" for route in routes if route not in kept]
    for uid in sorted(uids):
        grafana.delete_contact_point(uid)
        changes.deleted.append(f"contact-point {uid}")
    if not any(_route_rule(route) == rule_id for route in kept):
        uid = alert_rule_uid(rule_id)
        if grafana.alert_rule(uid) is not None:
            grafana.delete_alert_rule(uid)
            changes.deleted.append(f"alert-rule {uid}")
    return changes


def list_subscriptions(grafana: Grafana, rule_id: str | None = None) -> list[Subscription]:
    """Every finsent subscription (or those of ``rule_id``), including half-provisioned ones."""
    points = {str(point["name"]): point for point in grafana.contact_points() if _name_rule(point.get("name"))}
    routed = {str(route["receiver"]) for route in grafana.policy_tree().get("routes") or [] if _route_rule(route)}
    rules = {
        rule.get("labels", {}).get(RULE_LABEL): rule.get("uid")
        for rule in grafana.alert_rules()
        if str(rule.get("uid", "")).startswith(RULE_UID_PREFIX)
    }
    found = []
    for name in sorted(set(points) | {name for name in routed if _name_rule(name)}):
        owner = _name_rule(name)
        if owner is None or (rule_id is not None and owner != rule_id):
            continue
        point = points.get(name, {})
        settings = point.get("settings") or {}
        found.append(
            Subscription(
                rule_id=owner,
                kind=str(point.get("type") or name.rsplit(":", 2)[1]).strip(),
                target=str(settings.get("addresses") or settings.get("url") or ""),
                contact_point_uid=str(point.get("uid", "")),
                contact_point_name=name,
                routed=name in routed,
                alert_rule_uid=rules.get(owner),
            )
        )
    return found


def target_from(*, email: str | None = None, webhook: str | None = None, slack: str | None = None) -> Target | None:
    """The one target given (None if none); SubscriptionError if several or malformed."""
    offered: tuple[tuple[Kind, str | None], ...] = (("email", email), ("webhook", webhook), ("slack", slack))
    given = [Target(kind, value) for kind, value in offered if value]
    if len(given) > 1:
        raise SubscriptionError("give only one of --email, --webhook or --slack")
    if not given:
        return None
    target = given[0]
    if target.kind == "email" and not _EMAIL.match(target.address):
        raise SubscriptionError(f"not an email address: {target.address!r}")
    if target.kind != "email" and not re.match(r"^https?://[^\s/]+", target.address):
        raise SubscriptionError(f"--{target.kind} needs an http(s) URL, got {target.address!r}")
    return target


# Provisioned resources ---------------------------------------------------------------------


def contact_point_uid(rule_id: str, target: Target) -> str:
    """The deterministic uid of the contact point for (rule, target) (at most 40 characters)."""
    return CONTACT_UID_PREFIX + _digest(rule_id, target.kind, target.address)[:24]


def contact_point_name(rule_id: str, target: Target) -> str:
    """``finsent:<rule>:<kind>:<digest>``: unique per (rule, target), and the receiver routes name."""
    return f"{CONTACT_NAME_PREFIX}{rule_id}:{target.kind}:{_digest(rule_id, target.kind, target.address)[:8]}"


def contact_point_body(rule_id: str, target: Target) -> dict[str, Any]:
    """The ``EmbeddedContactPoint`` for (rule, target)."""
    if target.kind == "email":
        settings: dict[str, Any] = {"addresses": target.address, "singleEmail": False}
    elif target.kind == "webhook":
        settings = {"url": target.address, "httpMethod": "POST"}
    else:
        settings = {"url": target.address}
    return {
        "uid": contact_point_uid(rule_id, target),
        "name": contact_point_name(rule_id, target),
        "type": target.kind,
        "settings": settings,
        "disableResolveMessage": False,
    }


def route_for(rule_id: str, receiver: str) -> dict[str, Any]:
    """The policy route sending alerts labelled ``finsent_rule=<rule_id>`` to ``receiver``."""
    return {"receiver": receiver, "object_matchers": [[RULE_LABEL, "=", rule_id]], "continue": True}


def alert_rule_uid(rule_id: str) -> str:
    """``finsent-rule-<rule_id>``, or a hash of the rule id when that would not be a valid uid."""
    return RULE_UID_PREFIX + (rule_id if _UID_SAFE.match(rule_id) else _digest(rule_id)[:24])


def alert_rule_body(rule_id: str, datasource_uid: str) -> dict[str, Any]:
    """The Grafana-managed rule: count R's new ``alerts`` rows per symbol/topic (A), take it (B), fire if > 0 (C)."""
    sql = new_alerts_sql(rule_id, LOOKBACK_S)
    query = {
        "refId": "A",
        "datasource": {"type": CLICKHOUSE_PLUGIN, "uid": datasource_uid},
        "editorType": "sql",
        "queryType": "table",
        "format": 1,  # table (the plugin's sqlutil.FormatOptionTable)
        "rawSql": sql,
        "intervalMs": 1000,
        "maxDataPoints": 43200,
    }
    rule: dict[str, Any] = {
        "uid": alert_rule_uid(rule_id),
        "orgID": 1,
        "folderUID": FOLDER_UID,
        "ruleGroup": RULE_GROUP,
        "title": f"finsent: {rule_id}",
        "condition": "C",
        "data": [
            _alert_query("A", query, datasource_uid, LOOKBACK_S),
            _alert_query("B", _expression("B", type="reduce", expression="A", reducer="last")),
            _alert_query("C", _expression("C", type="threshold", expression="B", conditions=[_above(0)])),
        ],
        "noDataState": "OK",
        "execErrState": "Error",
        "for": "0s",
        "isPaused": False,
        "labels": {RULE_LABEL: rule_id},
        "annotations": {
            "summary": f"finsent rule {rule_id} raised alerts",
            "description": (
                f"{{{{ $values.B }}}} new alert(s) from finsent rule {rule_id} for "
                "{{ $labels.symbol }}{{ $labels.topic }}; see the finsent annotations for the headlines."
            ),
        },
    }
    rule["annotations"][SPEC_ANNOTATION] = _digest(json.dumps(rule, sort_keys=True))[:16]
    return rule


# Helpers -----------------------------------------------------------------------------------


def _ensure_alert_rule(grafana: Grafana, rule_id: str, datasource_uid: str, changes: Changes) -> None:
    if grafana.folder(FOLDER_UID) is None:
        grafana.create_folder(FOLDER_UID, FOLDER_TITLE)
        changes.created.append(f"folder {FOLDER_UID}")
    desired = alert_rule_body(rule_id, datasource_uid)
    existing = grafana.alert_rule(desired["uid"])
    if existing is None:
        grafana.create_alert_rule(desired)
        changes.created.append(f"alert-rule {desired['uid']}")
    elif (existing.get("annotations") or {}).get(SPEC_ANNOTATION) != desired["annotations"][SPEC_ANNOTATION]:
        grafana.update_alert_rule(desired["uid"], desired)
        changes.updated.append(f"alert-rule {desired['uid']}")


def _put_route(tree: dict[str, Any], route: dict[str, Any]) -> Literal["created", "updated"] | None:
    """Put ``route`` first in the tree's routes, or in place of the one with its receiver; None if already there."""
    routes = tree.get("routes") or []
    for index, existing in enumerate(routes):
        if existing.get("receiver") == route["receiver"]:
            if all(existing.get(key) == value for key, value in route.items()):
                return None
            routes[index] = copy.deepcopy(route)
            tree["routes"] = routes
            return "updated"
    tree["routes"] = [copy.deepcopy(route), *routes]
    return "created"


def _selected(grafana: Grafana, rule_id: str, target: Target | str | None) -> tuple[set[str], set[str]]:
    """Receiver names and contact point uids of the rule's subscriptions that ``target`` selects."""
    if target is None:
        mine = list_subscriptions(grafana, rule_id)
        uids = {sub.contact_point_uid for sub in mine if sub.contact_point_uid}
        return {sub.contact_point_name for sub in mine}, uids
    targets = [target] if isinstance(target, Target) else [Target(kind, target) for kind in KINDS]
    names = {contact_point_name(rule_id, one) for one in targets}
    uids = {contact_point_uid(rule_id, one) for one in targets}
    existing = {point.get("uid") for point in grafana.contact_points()}
    return names, uids & existing


def _route_rule(route: dict[str, Any]) -> str | None:
    """The rule id a finsent route matches on, or None for routes finsent did not make."""
    if not str(route.get("receiver", "")).startswith(CONTACT_NAME_PREFIX):
        return None
    for matcher in route.get("object_matchers") or []:
        if isinstance(matcher, list) and len(matcher) == 3 and matcher[0] == RULE_LABEL and matcher[1] == "=":
            return str(matcher[2])
    return None


def _name_rule(name: object) -> str | None:
    """The rule id in a contact point name ``finsent:<rule>:<kind>:<digest>``, or None."""
    if not isinstance(name, str) or not name.startswith(CONTACT_NAME_PREFIX):
        return None
    parts = name[len(CONTACT_NAME_PREFIX) :].rsplit(":", 2)
    return parts[0] if len(parts) == 3 and parts[1] in KINDS and parts[0] else None


def _alert_query(
    ref_id: str, model: dict[str, Any], datasource_uid: str = EXPRESSION_DATASOURCE, lookback_s: int = 0
) -> dict[str, Any]:
    return {
        "refId": ref_id,
        "queryType": "",
        "relativeTimeRange": {"from": lookback_s, "to": 0},
        "datasourceUid": datasource_uid,
        "model": model,
    }


def _expression(ref_id: str, **model: Any) -> dict[str, Any]:
    return {"refId": ref_id, "datasource": {"type": EXPRESSION_DATASOURCE, "uid": EXPRESSION_DATASOURCE}, **model}


def _above(threshold: float) -> dict[str, Any]:
    return {"evaluator": {"type": "gt", "params": [threshold]}}


def _check_rule_id(rule_id: str) -> None:
    if not rule_id or len(rule_id) > 128 or any(ord(char) < 32 for char in rule_id):
        raise SubscriptionError(f"a rule id is 1 to 128 printable characters, got {rule_id!r}")


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
