"""``finsent alerts``: who Grafana notifies when a finsent rule raises alerts (subscribe, list, unsubscribe)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict

import click

from alerts import subscriptions
from alerts.exceptions import (
    GrafanaAuthError,
    GrafanaError,
    GrafanaNotConfigured,
    GrafanaUnavailable,
    SubscriptionError,
)
from alerts.grafana import Grafana
from finsent.settings import Settings

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
    """Grafana notifications for finsent alerts (needs FINSENT_GRAFANA_URL and FINSENT_GRAFANA_TOKEN)."""


@alerts.command("subscribe")
@click.option("--rule", "rule_id", required=True, help="the finsent rule id")
@_target_options
def subscribe_command(rule_id: str, email: str | None, webhook: str | None, slack: str | None) -> None:
    """Notify one email address, webhook or Slack channel when RULE raises alerts; idempotent."""
    settings = _settings()
    with _grafana(settings) as grafana:
        changes = subscriptions.subscribe(
            grafana, rule_id, email=email, webhook=webhook, slack=slack, datasource_uid=settings.grafana_datasource_uid
        )
    click.echo(json.dumps({"rule": rule_id, "changed": changes.changed, **asdict(changes)}))


@alerts.command("list")
@click.option("--rule", "rule_id", default=None, help="only this rule's subscriptions")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def list_command(rule_id: str | None, fmt: str) -> None:
    """The subscriptions provisioned in Grafana."""
    with _grafana(_settings()) as grafana:
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
    with _grafana(_settings()) as grafana:
        target = subscriptions.target_from(email=email, webhook=webhook, slack=slack)
        changes = subscriptions.unsubscribe(grafana, rule_id, target)
    click.echo(json.dumps({"rule": rule_id, "changed": changes.changed, **asdict(changes)}))


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        raise click.UsageError(f"invalid configuration: {exc}") from exc


@contextmanager
def _grafana(settings: Settings) -> Iterator[Grafana]:
    """The configured Grafana; alerts errors become clear click errors."""
    try:
        yield Grafana.from_settings(settings)
    except GrafanaNotConfigured as exc:
        raise click.UsageError(
            f"{exc}. Set it to your Grafana's URL (e.g. https://grafana.example.com) and "
            "FINSENT_GRAFANA_TOKEN to a service-account token."
        ) from None
    except SubscriptionError as exc:
        raise click.UsageError(str(exc)) from None
    except GrafanaUnavailable as exc:
        message = f"Grafana is unreachable or failing; run the command again once it is back: {exc}"
        raise click.ClickException(message) from None
    except GrafanaAuthError as exc:
        message = f"Grafana refused FINSENT_GRAFANA_TOKEN (it needs alerting write access): {exc}"
        raise click.ClickException(message) from None
    except GrafanaError as exc:
        raise click.ClickException(f"Grafana refused the request: {exc}") from None
