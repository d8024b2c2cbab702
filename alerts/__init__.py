"""Alerting: deliver fired alerts to Grafana as annotations (an outbox in ClickHouse) and manage subscriptions."""

from alerts.exceptions import AlertsError, GrafanaError, GrafanaUnavailable
from alerts.grafana import Grafana
from alerts.outbox import DeliveryReport, Outbox, run_delivery
from alerts.subscriptions import list_subscriptions, subscribe, unsubscribe

__all__ = [
    "AlertsError",
    "DeliveryReport",
    "Grafana",
    "GrafanaError",
    "GrafanaUnavailable",
    "Outbox",
    "list_subscriptions",
    "run_delivery",
    "subscribe",
    "unsubscribe",
]
