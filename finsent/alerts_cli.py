"""``finsent alerts``: who Grafana notifies when a finsent rule raises alerts (subscribe, list, unsubscribe)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar, get_args

import click
from pydantic import ValidationError

from alerts import rules, subscriptions
from alerts.exceptions import (
    GrafanaAuthError,
    GrafanaError,
    GrafanaNotConfigured,
    GrafanaUnavailable,
    SubscriptionError,
)
from alerts.grafana import Grafana, format_window
from config import Settings
from finsent.clisupport import OneLineError, settings_for_cli

T = TypeVar("T")

_TARGETS = (
    click.option("--email", help="an email address"),
    click.option("--webhook", help="a URL that receives Grafana's webhook POSTs"),
    click.option("--slack", help="a Slack incoming-webhook URL"),
)


def _target_options(command: click.decorators.FC) -> click.decorators.FC:
    for option in reversed(_TARGETS):
        command = option(command)
    return command


@click.group("alerts")
def alerts() -> None:
    """Alert rules, and who Grafana notifies when they fire (subscriptions need FINSENT_GRAFANA_URL and _TOKEN)."""


@alerts.group("rules")
def rules_group() -> None:
    """The threshold rules workers evaluate (they re-read the rules file within seconds of a change)."""


@rules_group.command("list")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def rules_list(fmt: str) -> None:
    """The rules in effect and the file they come from."""
    settings = settings_for_cli()
    path = rules.rules_file(settings.rules_file)
    found = _rule_call(rules.load_rules, path).rules
    if fmt == "json":
        click.echo(json.dumps([rule.model_dump() for rule in found]))
        return
    click.echo(f"# {len(found)} rules from {path}")
    for rule in found:
        target = "market" if rule.scope == "all" else f"{rule.scope} {rule.target}"
        click.echo(
            f"{rule.id}\t{target}\t{rule.metric} {rule.comparison} {rule.threshold:g} over {format_window(rule.window)}"
            f" (min {rule.min_docs} docs, {rule.severity}, cooldown {format_window(rule.cooldown)}"
            f"{f', relevance >= {rule.min_relevance}' if rule.min_relevance else ''})"
        )


@rules_group.command("add")
@click.option("--id", "rule_id", required=True, help="lower-case id, e.g. nvda-gloom")
@click.option("--scope", type=click.Choice(["symbol", "topic", "all"]), required=True)
@click.option("--target", default="*", show_default=True, help="a symbol or topic, or * for each one")
@click.option("--metric", type=click.Choice(list(get_args(rules.Metric))), required=True)
@click.option("--comparison", type=click.Choice(list(get_args(rules.Comparison))), required=True)
@click.option("--threshold", type=float, required=True)
@click.option("--window", default="5m", show_default=True, help="1m to 1h")
@click.option("--hop", default="30s", show_default=True)
@click.option("--min-docs", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--severity", type=click.Choice(["info", "warning", "critical"]), default="warning", show_default=True)
@click.option("--cooldown", default="15m", show_default=True)
@click.option("--hysteresis", type=click.FloatRange(min=0), default=0.0, show_default=True)
@click.option("--baseline-windows", type=click.IntRange(2, 48), default=12, show_default=True)
@click.option(
    "--min-relevance",
    type=click.IntRange(0, 100),
    default=0,
    show_default=True,
    help="symbol rules: skip documents less relevant than this (0-100) to the symbol",
)
@click.option("--description", default="")
@click.option(
    "--novel-only/--all-documents", default=False, show_default=True,
    help="count each story's first document only, so reposts of one story cannot fire the rule",
)  # fmt: skip
@click.option("--replace", is_flag=True, help="replace a different rule with the same id")
def rules_add(rule_id: str, replace: bool, **fields: Any) -> None:
    """Add a rule (idempotent: adding the same rule again changes nothing)."""
    settings = settings_for_cli()
    rule = _rule_call(rules.Rule.model_validate, {"id": rule_id, **fields})
    changed = _rule_call(rules.add_rule, rule, settings.rules_file, replace)
    path = settings.rules_file
    click.echo(json.dumps({"rule": rule_id, "changed": changed, "file": str(path)}))


@rules_group.command("remove")
@click.argument("rule_id")
def rules_remove(rule_id: str) -> None:
    """Remove rule RULE_ID (idempotent: removing a missing rule changes nothing)."""
    settings = settings_for_cli()
    changed = _rule_call(rules.remove_rule, rule_id, settings.rules_file)
    click.echo(json.dumps({"rule": rule_id, "changed": changed}))


@rules_group.command("check")
@click.argument("path", type=click.Path(path_type=Path, exists=True, dir_okay=False))
def rules_check(path: Path) -> None:
    """Validate a rules file; exits 5 (an alerts error) with the reason when it is invalid."""
    found = _rule_call(rules.load_rules, path).rules
    click.echo(f"{path}: {len(found)} valid rules")


def _rule_call(function: Callable[..., T], *args: Any) -> T:
    try:
        return function(*args)
    except rules.RuleError as exc:
        raise OneLineError(exc) from None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'rule'}: {rules.error_message(e)}" for e in exc.errors()
        )
        raise click.UsageError(f"invalid rule: {problems}") from None


@alerts.command("subscribe")
@click.option("--rule", "rule_id", required=True, help="the finsent rule id")
@_target_options
def subscribe_command(rule_id: str, email: str | None, webhook: str | None, slack: str | None) -> None:
    """Notify one email address, webhook or Slack channel when RULE raises alerts; idempotent."""
    settings = settings_for_cli()
    with _grafana(settings) as grafana:
        changes = subscriptions.subscribe(
            grafana, rule_id, email=email, webhook=webhook, slack=slack, datasource_uid=settings.grafana_datasource_uid
        )
    click.echo(json.dumps({"rule": rule_id, "changed": changes.changed, **asdict(changes)}))


@alerts.command("subscriptions")
@click.option("--rule", "rule_id", default=None, help="only this rule's subscriptions")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def subscriptions_command(rule_id: str | None, fmt: str) -> None:
    """Who Grafana notifies for each rule (fired alerts: `finsent query alerts`)."""
    with _grafana(settings_for_cli()) as grafana:
        found = subscriptions.list_subscriptions(grafana, rule_id)
    if fmt == "json":
        click.echo(json.dumps([asdict(sub) for sub in found]))
        return
    if not found:
        click.echo("no subscriptions")
    for sub in found:
        problems = [] if sub.routed else ["no route"]
        problems += [] if sub.alert_rule_uid else ["no alert rule"]
        note = f"  ({', '.join(problems)}: run subscribe again)" if problems else ""
        click.echo(f"{sub.rule_id}\t{sub.kind}\t{sub.target}\t{sub.contact_point_uid}{note}")


@alerts.command("unsubscribe")
@click.option("--rule", "rule_id", required=True, help="the finsent rule id")
@_target_options
def unsubscribe_command(rule_id: str, email: str | None, webhook: str | None, slack: str | None) -> None:
    """Stop notifying one target, or every subscriber of RULE when none is given; idempotent."""
    with _grafana(settings_for_cli()) as grafana:
        target = subscriptions.target_from(email=email, webhook=webhook, slack=slack)
        changes = subscriptions.unsubscribe(grafana, rule_id, target)
    click.echo(json.dumps({"rule": rule_id, "changed": changes.changed, **asdict(changes)}))


@contextmanager
def _grafana(settings: Settings) -> Iterator[Grafana]:
    """The configured Grafana; a missing setting or a bad request is a usage error, Grafana's failures exit 5."""
    try:
        yield Grafana.from_settings(settings.grafana)
    except GrafanaNotConfigured as exc:
        raise click.UsageError(
            f"{exc}. Set it to your Grafana's URL (e.g. https://grafana.example.com) and "
            "FINSENT_GRAFANA_TOKEN to a service-account token."
        ) from None
    except SubscriptionError as exc:
        raise click.UsageError(str(exc)) from None
    except GrafanaUnavailable as exc:
        message = f"Grafana is unreachable or failing; run the command again once it is back: {exc}"
        raise OneLineError(exc, message) from None
    except GrafanaAuthError as exc:
        message = f"Grafana refused FINSENT_GRAFANA_TOKEN (it needs alerting write access): {exc}"
        raise OneLineError(exc, message) from None
    except GrafanaError as exc:
        raise OneLineError(exc, f"Grafana refused the request: {exc}") from None
