"""Read queries over the rollups and documents, the same SQL on chdb and ClickHouse servers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.base import Store

SENTIMENT_LABELS = {"negative": -1, "neutral": 0, "positive": 1}
_ROLLUPS = {"symbol": "sentiment_by_symbol_1m", "topic": "sentiment_by_topic_1m"}


def sentiment_series(
    store: Store,
    *,
    symbol: str | None = None,
    topic: str | None = None,
    start: datetime,
    end: datetime,
    interval_s: int = 60,
) -> list[dict[str, Any]]:
    """Documents, mean score and negative/positive counts per interval for one symbol or topic."""
    if (symbol is None) == (topic is None):
        raise ValueError("give exactly one of symbol or topic")
    if interval_s < 60 or interval_s % 60:
        raise ValueError("the interval must be a whole number of minutes (the rollups are per minute)")
    key_column = "symbol" if symbol is not None else "topic"
    sql = f"""
        SELECT toDateTime(intDiv(toUInt32(minute), %(step)s) * %(step)s, 'UTC') AS time,
               countMerge(docs) AS docs, avgMerge(score_avg) AS mean_score,
               sumMerge(negatives) AS negatives, sumMerge(positives) AS positives
        FROM {_ROLLUPS[key_column]}
        WHERE {key_column} = %(key)s AND minute >= %(start)s AND minute < %(end)s
        GROUP BY time ORDER BY time"""
    params = {"step": interval_s, "key": symbol if symbol is not None else topic, "start": start, "end": end}
    return store.query_dicts(sql, params)


def latest_documents(
    store: Store,
    *,
    symbol: str | None = None,
    topic: str | None = None,
    sentiment: str | None = None,
    limit: int = 20,
) -> list[dict[str, Any]]:
    """The newest stored documents, optionally for one symbol, topic and sentiment."""
    clauses: list[str] = ["1"]
    params: dict[str, Any] = {"limit": limit}
    if symbol is not None:
        clauses.append("has(symbols, %(symbol)s)")
        params["symbol"] = symbol
    if topic is not None:
        clauses.append("topic = %(topic)s")
        params["topic"] = topic
    if sentiment is not None:
        clauses.append("sentiment = %(sentiment)s")
        params["sentiment"] = SENTIMENT_LABELS[sentiment]
    sql = f"""
        SELECT event_time AS time, symbols, topic, sentiment, round(score, 3) AS score, source, headline
        FROM documents FINAL
        WHERE {" AND ".join(clauses)}
        ORDER BY event_time DESC, doc_id
        LIMIT %(limit)s"""
    return store.query_dicts(sql, params)
