"""SQL that Grafana runs against finsent's tables (through its ClickHouse data source), kept with the rest."""

from __future__ import annotations


def sql_string(value: str) -> str:
    """A ClickHouse string literal (backslashes and quotes escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def new_alerts_sql(rule_id: str, lookback_s: int) -> str:
    """New ``alerts`` rows of one rule per symbol and topic in the last ``lookback_s`` seconds."""
    return (
        "SELECT symbol, topic, uniqExact(alert_id) AS new_alerts FROM alerts "
        f"WHERE rule_id = {sql_string(rule_id)} AND fired_at >= now() - INTERVAL {int(lookback_s)} SECOND "
        "GROUP BY symbol, topic"
    )
