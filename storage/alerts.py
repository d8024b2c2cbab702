"""The ``alerts`` table (the outbox's rows) and what the rule engine reads back after a restart.

Alert rows: ``insert_alerts``, ``alerts_by_id``, ``alerts_in_state``, ``count_alerts``.
History: keys' recent documents and last alerts, one query per scope and kind whatever the number
of keys (chunked for long key lists); rows come back as plain tuples and ``alerts.history`` turns
them into the engine's types.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from schemas.alerts import ALERT_COLUMNS, AlertRow
from storage.base import Store
from storage.values import chunked

_ALERT_FIELDS = ", ".join(ALERT_COLUMNS)
_ALERTS_BY_ID_SQL = f"SELECT {_ALERT_FIELDS} FROM alerts FINAL WHERE alert_id IN %(ids)s"
# The state filter sits outside the FINAL subquery: on old servers a WHERE next to FINAL can be
# moved to PREWHERE and then sees superseded versions.
_ALERTS_IN_STATE_SQL = (
    f"SELECT {_ALERT_FIELDS} FROM (SELECT {_ALERT_FIELDS} FROM alerts FINAL) "
    "WHERE delivery_state IN %(states)s ORDER BY fired_at, alert_id LIMIT %(limit)s"
)
_COUNT_IN_STATE_SQL = "SELECT count() FROM (SELECT delivery_state FROM alerts FINAL) WHERE delivery_state = %(state)s"


def insert_alerts(store: Store, rows: Sequence[AlertRow]) -> None:
    """Insert alert rows: new alerts (version 1) or later versions of stored ones; empty lists are skipped."""
    store._insert_records("alerts", rows)


def alerts_by_id(store: Store, alert_ids: Sequence[str]) -> dict[str, AlertRow]:
    """``alert_id -> row`` (its highest version) for those of ``alert_ids`` already stored."""
    found: dict[str, AlertRow] = {}
    for chunk in chunked(list(dict.fromkeys(alert_ids))):
        for row in store._query_dicts(_ALERTS_BY_ID_SQL, {"ids": tuple(chunk)}):
            found[row["alert_id"]] = AlertRow(**row)
    return found


def alerts_in_state(store: Store, *states: str, limit: int = 1_000) -> list[AlertRow]:
    """Up to ``limit`` alerts whose current ``delivery_state`` is one of ``states``, oldest ``fired_at``
    first, then by ``alert_id``."""
    params = {"states": states, "limit": int(limit)}
    return [AlertRow(**row) for row in store._query_dicts(_ALERTS_IN_STATE_SQL, params)]


def count_alerts(store: Store, delivery_state: str | None = None) -> int:
    """Alerts stored (after deduplication), or only those in ``delivery_state``."""
    if delivery_state is None:
        return int(store._query("SELECT count() FROM alerts FINAL")[0][0])
    return int(store._query(_COUNT_IN_STATE_SQL, {"state": delivery_state})[0][0])


# Per scope: the FROM clause that yields one row per (document, key) with the score, sentiment and
# relevance the key's rules read (a symbol's own where the document has them, else the document's),
# and the key filter.
_PER_SYMBOL = """(
        SELECT symbol AS key, doc_id, event_time, headline, novelty,
               if(length(symbol_scores) = length(symbols), symbol_scores[symbol_index], score) AS key_score,
               if(length(symbol_sentiments) = length(symbols), symbol_sentiments[symbol_index], sentiment)
                   AS key_sentiment,
               if(length(relevances) = length(symbols), relevances[symbol_index], 100) AS key_relevance
        FROM documents FINAL
        ARRAY JOIN symbols AS symbol, arrayEnumerate(symbols) AS symbol_index
    )"""
_PER_DOCUMENT = """(
        SELECT {key} AS key, doc_id, event_time, headline, novelty, score AS key_score,
               sentiment AS key_sentiment, 100 AS key_relevance
        FROM documents FINAL
    )"""
_DOCUMENTS_BY_KEY: dict[str, tuple[str, str]] = {
    "symbol": (_PER_SYMBOL, "key IN %(keys)s"),
    "topic": (_PER_DOCUMENT.format(key="topic"), "key IN %(keys)s"),
    "all": (_PER_DOCUMENT.format(key="''"), "1"),
}
_ALERT_KEY = {"symbol": "symbol", "topic": "topic", "all": "''"}


def bucket_aggregates(
    store: Store, scope: str, keys: Sequence[str], since: int, until: int, bucket_s: int, min_relevance: int = 0
) -> Iterator[tuple[str, int, int, float, int, int]]:
    """``(key, bucket start, documents, score sum, negatives, positives)`` per key and bucket in ``[since, until)``,
    of the documents at least ``min_relevance`` relevant to the key (symbols; topics and the market are 100)."""
    source, key_filter = _DOCUMENTS_BY_KEY[scope]
    sql = f"""
        SELECT key, intDiv(toUInt32(event_time), {int(bucket_s)}) * {int(bucket_s)} AS start,
               count() AS docs, sum(key_score) AS score_sum, countIf(key_sentiment = -1) AS negatives,
               countIf(key_sentiment = 1) AS positives
        FROM {source}
        WHERE {key_filter} AND toUInt32(event_time) >= %(since)s AND toUInt32(event_time) < %(until)s
          AND key_relevance >= %(min_relevance)s
        GROUP BY key, start"""
    for chunk in chunked(list(keys)):
        params = {"keys": tuple(chunk), "since": since, "until": until, "min_relevance": min_relevance}
        for key, start, docs, total, negatives, positives in store._query(sql, params):
            yield str(key), int(start), int(docs), float(total), int(negatives), int(positives)


def document_details(
    store: Store, scope: str, keys: Sequence[str], since: int, min_relevance: int = 0
) -> Iterator[tuple[str, str, int, float, int, str, int]]:
    """``(key, doc id, event time, score, sentiment, headline, novelty)`` of each key's documents since ``since``
    at least ``min_relevance`` relevant to it; a symbol's score and sentiment are the text's toward it."""
    source, key_filter = _DOCUMENTS_BY_KEY[scope]
    sql = f"""
        SELECT key, doc_id, toUInt32(event_time) AS at, key_score, key_sentiment, headline, novelty
        FROM {source}
        WHERE {key_filter} AND toUInt32(event_time) >= %(since)s AND key_relevance >= %(min_relevance)s"""
    for chunk in chunked(list(keys)):
        params = {"keys": tuple(chunk), "since": since, "min_relevance": min_relevance}
        for key, doc_id, at, score, sentiment, headline, novelty in store._query(sql, params):
            yield str(key), str(doc_id), int(at), float(score), int(sentiment), str(headline), int(novelty)


def last_fired(store: Store, scope: str, keys: Sequence[str]) -> Iterator[tuple[str, str, int]]:
    """``(key, rule id, unix time)`` of the last alert each rule fired for each key."""
    key_column = _ALERT_KEY[scope]
    sql = f"""
        SELECT {key_column} AS key, rule_id, max(toUInt32(fired_at)) AS last
        FROM alerts
        WHERE scope = %(scope)s AND {key_column} IN %(keys)s
        GROUP BY key, rule_id"""
    for chunk in chunked(list(keys)):
        for key, rule_id, last in store._query(sql, {"scope": scope, "keys": tuple(chunk)}):
            yield str(key), str(rule_id), int(last)
