"""Grafana dashboards: well-formed JSON for file provisioning, and every query runs on both ClickHouse versions.

Each panel, annotation and variable query is expanded the way the grafana-clickhouse-datasource
plugin (v4) and Grafana expand it, then run on a seeded store: chdb (current ClickHouse) and
Debian's clickhouse-server 18.16, whose server time zone is deliberately not UTC.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from numbers import Real
from pathlib import Path
from typing import Any

import pytest

from storage import Store
from tests.dashboards.seed import BURST_SYMBOL, HOURS, NOW

DASHBOARD_DIR = Path(__file__).resolve().parents[2] / "dashboards"
PLUGIN = "grafana-clickhouse-datasource"
DATASOURCE = {"type": PLUGIN, "uid": "${datasource}"}
TIME_SERIES, TABLE = 0, 1  # the plugin's `format` values (sqlds FormatQueryOption)
FORMAT_BY_PANEL = {"timeseries": TIME_SERIES, "heatmap": TIME_SERIES, "table": TABLE, "piechart": TABLE, "stat": TABLE}
INTERVAL_S = 60
START, END = int((NOW - timedelta(hours=HOURS)).timestamp()), int(NOW.timestamp())
ANNOTATION_COLUMNS = ("time", "title", "text", "tags")
NOT_ON_18_16 = {  # what 18.16 rejects, or what the plugin expands into something 18.16 rejects
    r"\$__timeInterval": "the plugin expands it to toStartOfInterval",
    r"toStartOfInterval|DateTime64": "missing on 18.16",
    r"\bOVER\s*\(": "window functions",
    r"\bWITH\s+\w+\s+AS\s*\(": "standard CTEs",
    r"\{\w+:\w+\}": "{name:Type} query parameters",
    r"'\d{4}-\d\d-\d\d": "time literals (18.16 reads them in the server's time zone)",
}


@dataclass(frozen=True)
class Query:
    """One SQL query a dashboard sends, and what its result must look like."""

    dashboard: str
    where: str
    sql: str
    shape: str  # "timeseries", "table", "annotation" or "variable"
    columns: tuple[str, ...] = ()  # names the panel refers to (overrides, transformations)

    @property
    def id(self) -> str:
        return f"{self.dashboard}/{self.where}"


def load_dashboards() -> dict[str, dict[str, Any]]:
    """``file stem -> dashboard`` for every JSON file in ``dashboards/``."""
    return {path.stem: json.loads(path.read_text()) for path in sorted(DASHBOARD_DIR.glob("*.json"))}


def referenced_columns(panel: Mapping[str, Any]) -> tuple[str, ...]:
    """Column names a panel's field overrides and organize transformations rely on."""
    names = [
        override["matcher"]["options"]
        for override in panel.get("fieldConfig", {}).get("overrides", [])
        if override["matcher"]["id"] == "byName"
    ]
    for step in panel.get("transformations", []):
        if step["id"] == "organize":
            for key in ("excludeByName", "renameByName", "indexByName"):
                names.extend(step["options"].get(key, {}))
    return tuple(dict.fromkeys(names))


def dashboard_queries(name: str, board: Mapping[str, Any]) -> Iterator[Query]:
    """Every variable, annotation and panel query of one dashboard."""
    for var in board["templating"]["list"]:
        if var["type"] == "query":
            yield Query(name, f"variable {var['name']}", var["query"]["rawSql"], "variable")
    for annotation in board["annotations"]["list"]:
        if annotation.get("datasource", {}).get("type") == PLUGIN:
            yield Query(name, f"annotation {annotation['name']}", annotation["target"]["rawSql"], "annotation")
    for panel in board["panels"]:
        for target in panel["targets"]:
            shape = "timeseries" if target["format"] == TIME_SERIES else "table"
            where = f"panel {panel['id']} {panel['title']}"
            yield Query(name, where, target["rawSql"], shape, referenced_columns(panel))


DASHBOARDS = load_dashboards()
QUERIES = [query for name, board in DASHBOARDS.items() for query in dashboard_queries(name, board)]


def expand(sql: str, variables: Mapping[str, str]) -> str:
    """The SQL the plugin sends for the time range [START, END]: Grafana variables, then plugin macros."""

    def variable(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        if name not in variables:
            raise KeyError(f"unknown template variable ${name}")
        return variables[name]

    sql = re.sub(r"\$\{(\w+)(:\w+)?\}|\$(?!__)(\w+)", variable, sql)
    sql = re.sub(r"\$__timeFilter\(([^)]+)\)", rf"\1 >= toDateTime({START}) AND \1 <= toDateTime({END})", sql)
    sql = re.sub(
        r"\$__timeInterval\(([^)]+)\)", rf"toStartOfInterval(toDateTime(\1), INTERVAL {INTERVAL_S} second)", sql
    )
    sql = re.sub(r"\$__fromTime\b", f"toDateTime({START})", sql)
    sql = re.sub(r"\$__toTime\b", f"toDateTime({END})", sql)
    sql = re.sub(r"\$__interval_s\b", str(INTERVAL_S), sql)
    assert "$" not in sql, f"unexpanded macro or variable left in:\n{sql}"
    return sql


def custom_variables(board: Mapping[str, Any]) -> dict[str, str]:
    """Values of the datasource and custom variables, as saved in the dashboard."""
    values = {"datasource": "finsent-clickhouse"}
    for var in board["templating"]["list"]:
        if var["type"] == "custom":
            values[var["name"]] = var["current"]["value"]
    return values


# ---------------------------------------------------------------- structure (no database)


def test_dashboards_exist() -> None:
    assert set(DASHBOARDS) >= {"market-overview", "symbol-drilldown", "topics", "pipeline-health"}


def test_uids_are_set_and_unique() -> None:
    uids = [board.get("uid") for board in DASHBOARDS.values()]
    assert all(uids), uids
    assert len(set(uids)) == len(uids), uids


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_dashboard_is_provisionable(name: str) -> None:
    path = DASHBOARD_DIR / f"{name}.json"
    board = DASHBOARDS[name]
    assert path.read_text() == json.dumps(board, indent=2, ensure_ascii=False) + "\n", "format with indent 2"
    assert "__inputs" not in board and board["id"] is None
    assert 36 <= board["schemaVersion"] <= 41
    datasource_vars = [var for var in board["templating"]["list"] if var["name"] == "datasource"]
    assert datasource_vars and datasource_vars[0]["type"] == "datasource" and datasource_vars[0]["query"] == PLUGIN


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_panels_use_the_clickhouse_datasource(name: str) -> None:
    panels = DASHBOARDS[name]["panels"]
    ids = [panel["id"] for panel in panels]
    assert len(set(ids)) == len(ids), f"duplicate panel ids: {ids}"
    for panel in panels:
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE, panel["title"]
            assert target["editorType"] == "sql" and target["rawSql"].strip(), panel["title"]
            assert target["format"] == FORMAT_BY_PANEL[panel["type"]], f"{panel['title']}: format vs panel type"


@pytest.mark.parametrize("query", QUERIES, ids=lambda query: query.id)
def test_query_avoids_sql_that_18_16_rejects(query: Query) -> None:
    for pattern, why in NOT_ON_18_16.items():
        assert not re.search(pattern, query.sql), why


# ---------------------------------------------------------------- queries on real ClickHouse


def run(store: Store, query: Query, variables: Mapping[str, str]) -> tuple[list[str], list[tuple]]:
    records = store._query_dicts(expand(query.sql, variables))
    assert records, f"{query.id} returned no rows"
    names, rows = list(records[0]), [tuple(record.values()) for record in records]
    assert len(set(names)) == len(names), names
    return names, rows


def resolve_variables(store: Store, name: str) -> dict[str, str]:
    """Custom variable values plus each query variable's value (the burst symbol, which must be offered)."""
    board = DASHBOARDS[name]
    values = custom_variables(board)
    for query in dashboard_queries(name, board):
        if query.shape == "variable":
            _, rows = run(store, query, values)
            offered = [row[0] for row in rows]
            assert BURST_SYMBOL in offered, offered
            values[query.where.removeprefix("variable ")] = BURST_SYMBOL
    return values


def check_time_series(names: list[str], rows: list[tuple]) -> None:
    assert names[0] == "time", f"first column must be `time`, got {names}"
    assert all(isinstance(row[0], datetime) for row in rows)
    times = [row[0] for row in rows]
    assert times == sorted(times), "time series must be ordered by time"
    kinds = [type(value) for value in rows[0][1:]]
    assert any(issubclass(kind, Real) for kind in kinds), f"no numeric value column in {names}"
    assert all(issubclass(kind, Real | str) for kind in kinds), f"values must be numbers (or labels): {kinds}"


@pytest.mark.integration
@pytest.mark.parametrize("query", [query for query in QUERIES if query.shape != "variable"], ids=lambda q: q.id)
def test_query_runs_and_returns_expected_columns(seeded_store: Store, query: Query) -> None:
    names, rows = run(seeded_store, query, resolve_variables(seeded_store, query.dashboard))
    if query.shape == "timeseries":
        check_time_series(names, rows)
    elif query.shape == "annotation":
        assert tuple(names) == ANNOTATION_COLUMNS
        assert isinstance(rows[0][0], datetime)
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", name) for name in names), f"name every column: {names}"
    missing = [column for column in query.columns if column not in names]
    assert not missing, f"panel refers to columns the query does not return: {missing}"
