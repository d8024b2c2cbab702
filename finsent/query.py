"""What ``finsent query`` needs beside the store: time ranges, the compact alerts table, sentiment charts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from schemas.durations import end_of_now
from schemas.durations import parse_duration as parse_seconds


def parse_duration(text: str) -> timedelta:
    """``15m``, ``6h``, ``7d`` → timedelta (the grammar of ``schemas.durations``)."""
    return timedelta(seconds=parse_seconds(text))


def since_range(since: str) -> tuple[datetime, datetime]:
    """``[now - since, now)`` in UTC (now rounded up to the second), or a one-line usage error."""
    try:
        end = end_of_now()
        return end - parse_duration(since), end
    except (ValueError, OverflowError) as exc:
        raise click.UsageError(f"--since: {exc}") from exc


def compact_alerts(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Alert rows cut to what fits 80 columns: when, rule, severity, on what, the measurement, docs, delivery."""
    return [
        {
            "fired (UTC)": f"{row['fired_at']:%m-%d %H:%M}",
            "rule": row["rule_id"],
            "severity": row["severity"],
            "on": row["symbol"] or row["topic"] or "market",
            "measured": f"{row['metric']} {row['value']:.2f} {row['comparison']} {row['threshold']:g}",
            "docs": row["doc_count"],
            "delivery": row["delivery_state"],
        }
        for row in rows
    ]


PLOT_SUFFIXES = (".png", ".svg", ".pdf")
"""Chart files ``--plot`` writes; any other path is refused before anything is queried."""


def check_plot_path(path: Path) -> None:
    """ValueError unless ``path`` names an image file (``.png``, ``.svg`` or ``.pdf``)."""
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise ValueError(f"--plot must name a {', '.join(PLOT_SUFFIXES)} file, not {path.name!r}")


def bucket_grid(
    series: Sequence[dict[str, Any]], start: datetime, end: datetime, interval_s: int, volume: str = "docs"
) -> tuple[list[datetime], list[float], list[int]]:
    """Every bucket of ``[start, end)``: times, mean scores (NaN where empty, so the line breaks) and
    volumes (the ``volume`` column: ``docs`` or ``stories``)."""
    by_time = {row["time"].replace(tzinfo=UTC) if row["time"].tzinfo is None else row["time"]: row for row in series}
    first = datetime.fromtimestamp(int(start.timestamp()) // interval_s * interval_s, UTC)
    times, scores, volumes = [], [], []
    at = first
    while at < end:
        row = by_time.get(at)
        times.append(at)
        scores.append(float(row["mean_score"]) if row else math.nan)
        volumes.append(int(row[volume]) if row else 0)
        at += timedelta(seconds=interval_s)
    return times, scores, volumes


def plot_sentiment(
    series: Sequence[dict[str, Any]],
    alerts: Sequence[dict[str, Any]],
    title: str,
    out: Path,
    interval_s: int,
    start: datetime,
    end: datetime,
    volume: str = "docs",
) -> Path:
    """Mean score (line), volume (bars: the ``volume`` column, ``docs`` or ``stories``) and fired alerts
    (lines) over ``[start, end)``, written to ``out``.

    Empty buckets break the line instead of joining across them; a lone bucket shows as a marker.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    check_plot_path(out)
    times, scores, volumes = bucket_grid(series, start, end, interval_s, volume)
    unit = "stories" if volume == "stories" else "documents"
    fig, score_axis = plt.subplots(figsize=(11, 4.8), dpi=120)
    volume_axis = score_axis.twinx()
    bar_width = interval_s / 86_400 * 0.9  # in days, matplotlib's date unit
    bars = volume_axis.bar(mdates.date2num(times), volumes, width=bar_width, align="edge", color="#c8d3e0",
                           label=f"{unit} per interval")  # fmt: skip
    volume_axis.set_ylabel(f"{unit} per interval", color="#5b6b7d")
    volume_axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    volume_axis.set_ylim(0, max(1, max(volumes, default=0)) * 1.15)
    score_axis.set_zorder(volume_axis.get_zorder() + 1)
    score_axis.patch.set_visible(False)
    centres = mdates.date2num([at + timedelta(seconds=interval_s / 2) for at in times])
    (line,) = score_axis.plot(centres, scores, color="#1f4e79", linewidth=1.8, marker="o", markersize=3,
                              label="mean score")  # fmt: skip
    score_axis.axhline(0, color="#888888", linewidth=0.8, linestyle=":")
    score_axis.set_ylim(-1.05, 1.05)
    score_axis.set_ylabel("mean score (p_positive − p_negative)")
    handles: list[Any] = [line, bars]
    _mark_alerts(score_axis, alerts)
    if alerts:
        handles.append(Line2D([], [], color="#e65100", linewidth=1.2, label="alert fired"))
    # Above the plot area, under the title, so it never hides a bar or a point.
    score_axis.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8, frameon=False)
    score_axis.set_title(title, pad=20)
    score_axis.set_xlim(mdates.date2num(start), mdates.date2num(end))
    locator = mdates.AutoDateLocator(tz=UTC)
    score_axis.xaxis.set_major_locator(locator)
    score_axis.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=UTC))
    score_axis.set_xlabel(f"time (UTC), {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def _mark_alerts(score_axis: Any, alerts: Sequence[dict[str, Any]]) -> None:
    """A vertical line and a label per fired alert, coloured by severity; labels staggered over four rows."""
    import matplotlib.dates as mdates

    for index, alert in enumerate(alerts):
        color = {"critical": "#b00020", "warning": "#e65100"}.get(str(alert["severity"]), "#f9a825")
        score_axis.axvline(mdates.date2num(alert["fired_at"]), color=color, linewidth=1.2, alpha=0.8)
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
