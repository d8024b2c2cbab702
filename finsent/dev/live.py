"""The demo's live terminal view: top movers, topic sentiment, throughput (from finsent.scores)."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

import orjson
from rich.console import Group
from rich.table import Table
from rich.text import Text

from schemas.alerts import AlertRecord


@dataclass
class _Tally:
    docs: int = 0
    score_sum: float = 0.0
    negatives: int = 0

    def add(self, score: float, sentiment: int) -> None:
        self.docs += 1
        self.score_sum += score
        self.negatives += sentiment == -1

    @property
    def mean(self) -> float:
        return self.score_sum / self.docs if self.docs else 0.0


@dataclass
class ScoreBoard:
    """Aggregates score records as they stream past; thread-safe."""

    symbols: dict[str, _Tally] = field(default_factory=lambda: defaultdict(_Tally))
    topics: dict[str, _Tally] = field(default_factory=lambda: defaultdict(_Tally))
    doc_ids: set[str] = field(default_factory=set)
    alerts: list[AlertRecord] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, raw: bytes) -> None:
        record = orjson.loads(raw)
        with self._lock:
            if record["symbol"]:
                self.symbols[record["symbol"]].add(record["score"], record["sentiment"])
            if record["doc_id"] not in self.doc_ids:
                self.doc_ids.add(record["doc_id"])
                self.topics[record["topic"]].add(record["score"], record["sentiment"])

    def add_alert(self, alert: AlertRecord) -> None:
        with self._lock:
            self.alerts.append(alert)

    def latest_alerts(self, limit: int = 5) -> list[AlertRecord]:
        with self._lock:
            return self.alerts[-limit:][::-1]

    def movers(self, limit: int = 10, min_docs: int = 3) -> list[tuple[str, _Tally]]:
        with self._lock:
            rows = [(s, t) for s, t in self.symbols.items() if t.docs >= min_docs]
        return sorted(rows, key=lambda item: abs(item[1].mean) * item[1].docs ** 0.5, reverse=True)[:limit]

    def topic_rows(self, limit: int = 12) -> list[tuple[str, _Tally]]:
        with self._lock:
            rows = list(self.topics.items())
        return sorted(rows, key=lambda item: item[1].docs, reverse=True)[:limit]


def _score_text(value: float) -> Text:
    style = "green" if value > 0.15 else "red" if value < -0.15 else "yellow"
    return Text(f"{value:+.2f}", style=style)


def render(board: ScoreBoard, status: Mapping[str, object]) -> Group:
    """One frame of the live view."""
    header = Text(" · ".join(f"{k} {v}" for k, v in status.items()), style="bold")
    movers = Table(title="Top movers (by |mean score| × √docs)", expand=True)
    for column in ("symbol", "docs", "mean score", "negative share"):
        movers.add_column(column, justify="right" if column != "symbol" else "left")
    for symbol, tally in board.movers():
        movers.add_row(Text(symbol), str(tally.docs), _score_text(tally.mean), f"{tally.negatives / tally.docs:.0%}")
    topics = Table(title="Sentiment by topic", expand=True)
    for column in ("topic", "docs", "mean score"):
        topics.add_column(column, justify="right" if column != "topic" else "left")
    for topic, tally in board.topic_rows():
        topics.add_row(Text(topic), str(tally.docs), _score_text(tally.mean))
    return Group(header, movers, topics, _alerts_table(board))


def _alerts_table(board: ScoreBoard) -> Table:
    table = Table(title="Alerts (newest first)", expand=True)
    for column in ("fired (UTC)", "severity", "rule", "on", "value", "docs", "top headline"):
        table.add_column(column, overflow="ellipsis", no_wrap=column == "top headline")
    for alert in board.latest_alerts():
        style = {"critical": "bold red", "warning": "red", "info": "yellow"}[alert.severity]
        table.add_row(
            alert.fired_at.strftime("%H:%M:%S"),
            Text(alert.severity, style=style),
            Text(alert.rule_id),
            Text(alert.scope_key or "market"),
            f"{alert.metric} {alert.value:.2f} {alert.comparison} {alert.threshold:g}",
            str(alert.doc_count),
            Text(alert.headlines[0] if alert.headlines else ""),  # stored text: never read as markup
        )
    return table
