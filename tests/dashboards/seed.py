"""Six hours of realistic rows for the dashboard queries: documents, score rows, rollups, alerts."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from schemas import DocumentRow, ScoreRecord
from schemas.records import BatchRow, DeadLetterRow
from storage import Store

NOW = datetime.now(UTC).replace(microsecond=0)
HOURS = 6
SYMBOLS = ("AAPL", "MSFT", "NVDA", "TSLA", "JPM")
TOPICS = ("Earnings", "Stock Movement", "Analyst Update", "Macro", "M&A | Investments", "Fed | Central Banks")
BURST_SYMBOL = "NVDA"  # negative news about it in the last hour; it also has the alerts
MODEL_VERSIONS = ("finsent-minilm-lora-1", "finsent-minilm-lora-2")

ALERTS_SQL = """
INSERT INTO alerts (alert_id, rule_id, severity, scope, symbol, topic, metric, comparison, value, threshold,
                    window_s, doc_count, fired_at, headlines, delivery_state, delivery_attempts, annotation_id, version)
SELECT 'a1', 'neg-burst', 'critical', 'symbol', 'NVDA', '', 'negative_share', '>', 0.8, 0.6, 900, 25,
       toDateTime({t1}), ['Nvidia shares slide', 'Export curbs hit Nvidia'], 'delivered', 1, 42, 2
UNION ALL
SELECT 'a2', 'score-drop', 'warning', 'symbol', 'NVDA', '', 'score_avg', '<', -0.5, -0.4, 900, 25,
       toDateTime({t2}), ['Nvidia guidance cut'], 'pending', 0, 0, 1
UNION ALL
SELECT 'a3', 'topic-neg', 'info', 'topic', '', 'Macro', 'negative_share', '>', 0.5, 0.5, 3600, 40,
       toDateTime({t3}), ['Growth worries weigh on markets'], 'failed', 3, 0, 1
"""


def _rows(seed: int = 7, count: int = 600) -> tuple[list[ScoreRecord], list[DocumentRow]]:
    rng = random.Random(seed)
    scores: list[ScoreRecord] = []
    documents: list[DocumentRow] = []
    for i in range(count):
        event_time = NOW - timedelta(seconds=rng.randint(90, HOURS * 3600 - 90))
        ingested_at = min(event_time + timedelta(seconds=rng.randint(1, 40)), NOW)
        symbols = [] if rng.random() < 0.1 else rng.sample(SYMBOLS, rng.choice((1, 1, 2)))
        burst = BURST_SYMBOL in symbols and NOW - event_time < timedelta(hours=1)
        sentiment = -1 if burst and rng.random() < 0.8 else rng.choice((-1, 0, 0, 1, 1))
        p_neg, p_neu, p_pos = {-1: (0.8, 0.15, 0.05), 0: (0.1, 0.8, 0.1), 1: (0.05, 0.15, 0.8)}[sentiment]
        common = {
            "doc_id": f"d{i}",
            "kind": rng.choice(("news", "social")),
            "source": rng.choice(("reuters", "x", "stocktwits")),
            "event_time": event_time,
            "topic": rng.choice(TOPICS),
            "topic_confidence": round(rng.uniform(0.5, 0.99), 3),
            "sentiment": sentiment,
            "p_negative": p_neg,
            "p_neutral": p_neu,
            "p_positive": p_pos,
            "score": p_pos - p_neg,
            "model_version": MODEL_VERSIONS[event_time > NOW - timedelta(hours=2)],
            "ingested_at": ingested_at,
        }
        documents.append(
            DocumentRow(
                **common,
                headline=f"headline {i} about {' and '.join(symbols) or 'markets'}",
                body="body",
                url=f"https://news.test/{i}",
                author_hash="",
                symbols=symbols,
                content_hash=f"h{i}",
            )
        )
        scores.extend(ScoreRecord(**common, symbol=symbol) for symbol in symbols or [""])
    return scores, documents


def _pipeline_rows(seed: int = 11) -> tuple[list[DeadLetterRow], list[BatchRow]]:
    rng = random.Random(seed)
    reasons = ("invalid JSON: unexpected character", "schema: headline is required", "conflicting duplicate: id x")
    letters = [
        DeadLetterRow(
            topic="finsent.news",
            partition=i % 4,
            offset=i,
            error=rng.choice(reasons),
            raw_preview="{not json",
            raw_bytes=9,
            failed_at=NOW - timedelta(seconds=rng.randint(60, HOURS * 3600 - 60)),
        )
        for i in range(40)
    ]
    batches = [
        BatchRow(
            worker=f"host-{i % 2}:4{i % 2}",
            finished_at=NOW - timedelta(seconds=30 * i + 5),
            messages=(size := rng.randint(1, 256)),
            documents=size - min(2, size),
            dead_letters=min(2, size),
            duplicates=0,
            seconds=rng.uniform(0.05, 1.5),
            lag=rng.randint(0, 5000),
        )
        for i in range(HOURS * 120)
    ]
    return letters, batches


def seed(store: Store) -> None:
    """Documents (and so the rollups), their score rows, three alerts, dead letters and batch figures."""
    scores, documents = _rows()
    store.insert_scores(scores)
    store.insert_documents(documents)
    letters, batches = _pipeline_rows()
    store.insert_dead_letters(letters)
    store.insert_batch_stats(batches)
    times = {f"t{n}": int((NOW - timedelta(minutes=minutes)).timestamp()) for n, minutes in ((1, 40), (2, 20), (3, 90))}
    store._query(ALERTS_SQL.format(**times))
