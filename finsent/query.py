"""``finsent query``: history from the store as a table, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

_DURATION = re.compile(r"^(\d+)([mhd])$")
_UNIT_S = {"m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """``15m``, ``6h``, ``7d`` → timedelta."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration like 15m, 6h or 7d")
    return timedelta(seconds=int(match.group(1)) * _UNIT_S[match.group(2)])


def render(rows: Sequence[dict[str, Any]], fmt: str) -> str:
    """Rows as a terminal table, CSV or JSON lines."""
    if fmt == "json":
        return "\n".join(json.dumps(row, default=str) for row in rows)
    if fmt == "csv":
        out = io.StringIO()
        if rows:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)
        return out.getvalue().rstrip("\n")
    return _table(rows)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, list | tuple):
        return ",".join(map(str, value))
    return str(value)


def _table(rows: Sequence[dict[str, Any]]) -> str:
    from rich.console import Console
    from rich.table import Table

    if not rows:
        return "(no rows)"
    table = Table()
    for column in rows[0]:
        table.add_column(column, overflow="fold", max_width=80 if column == "headline" else None)
    for row in rows:
        table.add_row(*(_cell(v) for v in row.values()))
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(table)
    return console.export_text().rstrip()
