"""Fired alerts, and who Grafana notifies about them (subscriptions)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from alerts import subscriptions
from alerts.exceptions import GrafanaAuthError, GrafanaError, GrafanaUnavailable, SubscriptionError
from alerts.grafana import Grafana
from api.deps import ERRORS, ReadKey, ScopeQuery, SettingsDep, StoreDep, WriteKey
from config.components import ApiSettings
from schemas.api import MAX_ALERTS_PAGE, AlertOut, Problem, SubscriptionIn
from storage.queries import fired_alerts

router = APIRouter(tags=["alerts"])
GRAFANA_ERRORS = ERRORS | {502: {"model": Problem}}


@router.get("/v1/alerts", responses=ERRORS)
def alerts(
    key: ReadKey,
    store: StoreDep,
    scope: ScopeQuery,
    rule: Annotated[str | None, Query(max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_ALERTS_PAGE)] = 100,
) -> list[AlertOut]:
    """Alerts fired in the range, newest first, with their Grafana delivery state."""
    rows = fired_alerts(store, rule_id=rule, limit=limit, **scope)
    return [AlertOut(**row) for row in rows]


@router.get("/v1/subscriptions", responses=GRAFANA_ERRORS)
def list_subscriptions(
    key: ReadKey, settings: SettingsDep, rule: Annotated[str | None, Query(max_length=128)] = None
) -> list[dict[str, Any]]:
    """Who Grafana notifies, per rule (provisioned through Grafana's alerting API)."""
    with _grafana(settings) as grafana:
        return [asdict(found) for found in subscriptions.list_subscriptions(grafana, rule)]


@router.post("/v1/subscriptions", responses=GRAFANA_ERRORS)
def subscribe(body: SubscriptionIn, key: WriteKey, settings: SettingsDep) -> dict[str, Any]:
    """Notify one email address, webhook or Slack channel when a rule fires; idempotent."""
    with _grafana(settings) as grafana:
        changes = subscriptions.subscribe(
            grafana,
            body.rule,
            email=body.email,
            webhook=body.webhook,
            slack=body.slack,
            datasource_uid=settings.grafana.datasource_uid,
        )
    return {"rule": body.rule, "changed": changes.changed, **asdict(changes)}


@router.delete("/v1/subscriptions", responses=GRAFANA_ERRORS)
def unsubscribe(
    key: WriteKey,
    settings: SettingsDep,
    rule: Annotated[str, Query(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")],
    email: Annotated[str | None, Query(max_length=320)] = None,
    webhook: Annotated[str | None, Query(max_length=2048)] = None,
    slack: Annotated[str | None, Query(max_length=2048)] = None,
) -> dict[str, Any]:
    """Stop notifying one target, or every subscriber of the rule when none is given; idempotent."""
    with _grafana(settings) as grafana:
        target = subscriptions.target_from(email=email, webhook=webhook, slack=slack)
        changes = subscriptions.unsubscribe(grafana, rule, target)
    return {"rule": rule, "changed": changes.changed, **asdict(changes)}


@contextmanager
def _grafana(settings: ApiSettings) -> Iterator[Grafana]:
    """The configured Grafana, with alerts/ errors turned into HTTP answers."""
    if not settings.grafana.url:
        raise HTTPException(503, "FINSENT_GRAFANA_URL is not set on this API server")
    try:
        yield Grafana.from_settings(settings.grafana)
    except SubscriptionError as exc:
        raise HTTPException(422, str(exc)) from None
    except GrafanaUnavailable:
        raise HTTPException(503, "Grafana is unreachable; retry later") from None
    except GrafanaAuthError:
        raise HTTPException(502, "Grafana refused this server's token") from None
    except GrafanaError as exc:
        raise HTTPException(502, f"Grafana refused the request: {exc}") from None
