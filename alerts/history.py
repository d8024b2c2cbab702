"""The rule engine's memory after a restart or rebalance: keys' recent past, read back from ClickHouse.

One query per scope and kind of history, whatever the number of keys (chunked for long key lists).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from alerts.engine import Aggregate, Detail
from alerts.rules import BUCKET_S
from schemas.alerts import Scope
from storage import Store
from storage.values import chunked

# Per scope: the FROM clause that yields one row per (document, key) and the key expression.
_DOCUMENTS_BY_KEY: dict[str, tuple[str, str]] = {
    "symbol": ("documents FINAL ARRAY JOIN symbols AS key", "key IN %(keys)s"),
    "topic": ("(SELECT *, topic AS key FROM documents FINAL)", "key IN %(keys)s"),
    "all": ("(SELECT *, '' AS key FROM documents FINAL)", "1"),
}
_ALERT_KEY = {"symbol": "symbol", "topic": "topic", "all": "''"}


class StoreHistory:
    """``alerts.engine.History`` over the ``documents`` and ``alerts`` tables of a store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def aggregates(self, scope: Scope, keys: Sequence[str], since: int, until: int) -> dict[str, list[Aggregate]]:
        source, key_filter = _DOCUMENTS_BY_KEY[scope]
        sql = f"""
            SELECT key, intDiv(toUInt32(event_time), {BUCKET_S}) * {BUCKET_S} AS start,
                   count() AS docs, sum(score) AS score_sum, countIf(sentiment = -1) AS negatives
            FROM {source}
            WHERE {key_filter} AND toUInt32(event_time) >= %(since)s AND toUInt32(event_time) < %(until)s
            GROUP BY key, start"""
        found: dict[str, list[Aggregate]] = defaultdict(list)
        for chunk in chunked(list(keys)):
            for key, start, docs, total, negatives in self._store.query(
                sql, {"keys": tuple(chunk), "since": since, "until": until}
            ):
                found[key].append(Aggregate(int(start), int(docs), float(total), int(negatives)))
        return found

    def details(self, scope: Scope, keys: Sequence[str], since: int) -> dict[str, list[Detail]]:
        source, key_filter = _DOCUMENTS_BY_KEY[scope]
        sql = f"""
            SELECT key, doc_id, toUInt32(event_time) AS at, score, sentiment, headline
            FROM {source}
            WHERE {key_filter} AND toUInt32(event_time) >= %(since)s"""
        found: dict[str, list[Detail]] = defaultdict(list)
        for chunk in chunked(list(keys)):
            for key, doc_id, at, score, sentiment, headline in self._store.query(
                sql, {"keys": tuple(chunk), "since": since}
            ):
                found[key].append(Detail(str(doc_id), int(at), float(score), int(sentiment), str(headline)))
        return found

    def last_alerts(self, scope: Scope, keys: Sequence[str]) -> dict[str, dict[str, int]]:
        key_column = _ALERT_KEY[scope]
        sql = f"""
            SELECT {key_column} AS key, rule_id, max(toUInt32(fired_at)) AS last
            FROM alerts
            WHERE scope = %(scope)s AND {key_column} IN %(keys)s
            GROUP BY key, rule_id"""
        found: dict[str, dict[str, int]] = defaultdict(dict)
        for chunk in chunked(list(keys)):
            for key, rule_id, last in self._store.query(sql, {"scope": scope, "keys": tuple(chunk)}):
                found[key][rule_id] = int(last)
        return found
