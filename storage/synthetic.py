"""Synthetic history at scale, generated inside ClickHouse (benchmarks of the read path)."""

from __future__ import annotations

import time

from storage.base import Store

SYMBOL = "NVDA"
"""One row in ten is about this symbol; the rest spread over OTHERS."""
OTHERS = ["AAPL", "MSFT", "AMZN", "TSLA", "META", "GOOGL", "JPM", "XOM", "BAC"]
FILL_SQL = """
INSERT INTO {table}
SELECT * FROM (
    SELECT
        concat('bench:', toString(number)) AS doc_id,
        'news' AS kind,
        'bench' AS source,
        {symbol_columns}
        toDateTime({start} + intDiv(number * {span}, {rows}), 'UTC') AS event_time,
        {middle_columns}
        'Earnings' AS topic,
        toFloat32(0.9) AS topic_confidence,
        toInt8(number % 3 - 1) AS sentiment,
        toFloat32(0.2) AS p_negative,
        toFloat32(0.5) AS p_neutral,
        toFloat32(0.3) AS p_positive,
        toFloat32((number % 3 - 1) * 0.6) AS score,
        'bench' AS model_version{tail_columns}
    FROM numbers({rows})
)
"""


def fill_synthetic_history(store: Store, rows: int, start: int, span: int) -> float:
    """Insert ``rows`` synthetic score and document rows spread over ``span`` seconds from ``start``; seconds taken."""
    symbol = f"if(number % 10 = 0, '{SYMBOL}', arrayElement({OTHERS!r}, number % {len(OTHERS)} + 1))"
    began = time.perf_counter()
    store._query(
        FILL_SQL.format(
            table="scores (doc_id, kind, source, symbol, event_time, topic, topic_confidence, sentiment, "
            "p_negative, p_neutral, p_positive, score, model_version, ingested_at)",
            symbol_columns=f"{symbol} AS symbol,",
            middle_columns="",
            tail_columns=", event_time AS ingested_at",
            rows=rows,
            start=start,
            span=span,
        )
    )
    store._query(
        FILL_SQL.format(
            table="documents (doc_id, kind, source, event_time, ingested_at, headline, body, url, author_hash, "
            "symbols, content_hash, topic, topic_confidence, sentiment, p_negative, p_neutral, p_positive, score, "
            "model_version, likes, reposts, replies)",
            symbol_columns="",
            middle_columns="event_time AS ingested_at, 'headline' AS headline, '' AS body, '' AS url, "
            f"'' AS author_hash, [{symbol}] AS symbols, doc_id AS content_hash,",
            tail_columns=", toUInt32(0) AS likes, toUInt32(0) AS reposts, toUInt32(0) AS replies",
            rows=rows,
            start=start,
            span=span,
        )
    )
    return time.perf_counter() - began
