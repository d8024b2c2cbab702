"""What the rule engine reads back after a restart or rebalance: keys' recent documents and last alerts.

One query per scope and kind of history, whatever the number of keys (chunked for long key lists).
Rows come back as plain tuples; ``alerts.history`` turns them into the engine's types.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from storage.base import Store
from storage.values import chunked

# Per scope: the FROM clause that yields one row per (document, key) and the key filter.
_DOCUMENTS_BY_KEY: dict[str, tuple[str, str]] = {
    "symbol": ("documents FINAL ARRAY JOIN symbols AS key", "key IN %(keys)s"),
    "topic": ("(SELECT *, topic AS key FROM documents FINAL)", "key IN %(keys)s"),
    "all": ("(SELECT *, '' AS key FROM documents FINAL)", "1"),
}
_ALERT_KEY = {"symbol": "symbol", "topic": "topic", "all": "''"}


def bucket_aggregates(
    store: Store, scope: str, keys: Sequence[str], since: int, until: int, bucket_s: int
) -> Iterator[tuple[str, int, int, float, int]]:
    """``(key, bucket start, documents, score sum, negatives)`` per key and bucket in ``[since, until)``."""
    source, key_filter = _DOCUMENTS_BY_KEY[scope]
    sql = f"""
        SELECT key, intDiv(toUInt32(event_time), {int(bucket_s)}) * {int(bucket_s)} AS start,
               count() AS docs, sum(score) AS score_sum, countIf(sentiment = -1) AS negatives
        FROM {source}
        WHERE {key_filter} AND toUInt32(event_time) >= %(since)s AND toUInt32(event_time) < %(until)s
        GROUP BY key, start"""
    for chunk in chunked(list(keys)):
        for key, start, docs, total, negatives in store.query(
            sql, {"keys": tuple(chunk), "since": since, "until": until}
        ):
            yield str(key), int(start), int(docs), float(total), int(negatives)


def document_details(
    store: Store, scope: str, keys: Sequence[str], since: int
) -> Iterator[tuple[str, str, int, float, int, str]]:
    """``(key, doc id, event time, score, sentiment, headline)`` of each key's documents since ``since``."""
    source, key_filter = _DOCUMENTS_BY_KEY[scope]
    sql = f"""
        SELECT key, doc_id, toUInt32(event_time) AS at, score, sentiment, headline
        FROM {source}
        WHERE {key_filter} AND toUInt32(event_time) >= %(since)s"""
    for chunk in chunked(list(keys)):
        for key, doc_id, at, score, sentiment, headline in store.query(sql, {"keys": tuple(chunk), "since": since}):
            yield str(key), str(doc_id), int(at), float(score), int(sentiment), str(headline)


def last_fired(store: Store, scope: str, keys: Sequence[str]) -> Iterator[tuple[str, str, int]]:
    """``(key, rule id, unix time)`` of the last alert each rule fired for each key."""
    key_column = _ALERT_KEY[scope]
    sql = f"""
        SELECT {key_column} AS key, rule_id, max(toUInt32(fired_at)) AS last
        FROM alerts
        WHERE scope = %(scope)s AND {key_column} IN %(keys)s
        GROUP BY key, rule_id"""
    for chunk in chunked(list(keys)):
        for key, rule_id, last in store.query(sql, {"scope": scope, "keys": tuple(chunk)}):
            yield str(key), str(rule_id), int(last)
