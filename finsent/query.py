"""``finsent query``: history from the store as a table, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from schemas.durations import parse_duration as parse_seconds


def parse_duration(text: str) -> timedelta:
    """``15m``, ``6h``, ``7d`` → timedelta (the grammar of ``schemas.durations``)."""
    return timedelta(seconds=parse_seconds(text))


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


def plot_sentiment(
    series: Sequence[dict[str, Any]], alerts: Sequence[dict[str, Any]], title: str, out: Path, interval_s: int
) -> Path:
    """Mean score (line), volume (bars) and fired alerts (markers) on one chart, written to ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    times = [row["time"] for row in series]
    fig, score_axis = plt.subplots(figsize=(11, 4.8), dpi=120)
    volume_axis = score_axis.twinx()
    volume_axis.bar(times, [row["docs"] for row in series], width=interval_s / 86_400 * 0.9, color="#c8d3e0",
                    label="documents")  # fmt: skip
    volume_axis.set_ylabel("documents per interval", color="#5b6b7d")
    score_axis.set_zorder(volume_axis.get_zorder() + 1)
    score_axis.patch.set_visible(False)
    score_axis.plot(times, [row["mean_score"] for row in series], color="#1f4e79", linewidth=1.8, label="mean score")
    score_axis.axhline(0, color="#888888", linewidth=0.8, linestyle=":")
    score_axis.set_ylim(-1.05, 1.05)
    score_axis.set_ylabel("mean score (p_positive − p_negative)")
    for index, alert in enumerate(alerts):
        color = {"critical": "#b00020", "warning": "#e65100"}.get(str(alert["severity"]), "#f9a825")
        score_axis.axvline(alert["fired_at"], color=color, linewidth=1.2, alpha=0.8)
        score_axis.annotate(
            f"{alert['rule_id']} ({alert['severity']})",
            (mdates.date2num(alert["fired_at"]), 0.97 - 0.09 * (index % 4)),
            fontsize=8,
            color=color,
            xytext=(-3, 0),
            textcoords="offset points",
            va="top",
            ha="right",
        )
    score_axis.set_title(title)
    score_axis.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d %H:%M"))
    fig.autofmt_xdate()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
