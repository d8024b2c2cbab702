"""Read queries over the rollups and documents, the same SQL on chdb and ClickHouse servers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Required, TypedDict, Unpack

from schemas.api import MAX_ALERTS_PAGE, MAX_DOCUMENTS_PAGE
from storage.base import Store
from storage.clauses import Where
from storage.exceptions import InvalidQuery

SENTIMENT_LABELS = {"negative": -1, "neutral": 0, "positive": 1}
SENTIMENT_NAMES = {value: name for name, value in SENTIMENT_LABELS.items()}
DOCUMENT_COLUMNS = ("doc_id", "time", "kind", "source", "headline", "url", "symbols", "topic", "sentiment", "score")
SYMBOL_COLUMNS = ("symbol", "symbol_sentiment", "symbol_score", "symbol_source", "relevance")
SYMBOL_DOCUMENT_COLUMNS = (*DOCUMENT_COLUMNS, *SYMBOL_COLUMNS)
"""Columns of ``documents_page`` rows when a symbol is asked: the document's values and that symbol's."""
SERIES_COLUMNS = ("time", "docs", "mean_score", "negatives", "positives")
STORY_SERIES_COLUMNS = ("time", "stories", "docs", "mean_score", "negatives", "positives")
"""Columns of a series that counts stories: ``negatives``/``positives`` count stories there."""
COUNTS = ("stories", "documents")
"""What a series, listing or ranking counts: distinct stories (the default) or every document."""
ALERT_COLUMNS = (
    "alert_id", "rule_id", "severity", "scope", "symbol", "topic", "metric", "comparison", "value",
    "threshold", "window_s", "doc_count", "fired_at", "headlines", "delivery_state",
)  # fmt: skip
ACTIVITY_COLUMNS = ("name", "docs", "mean_score")
STORY_ACTIVITY_COLUMNS = ("name", "stories", "docs", "mean_score")
MOVER_COLUMNS = ("name", "docs", "mean_score", "baseline_docs", "baseline_score", "score_change", "volume_ratio")
STORY_MOVER_COLUMNS = ("name", "stories", "docs", "mean_score", "baseline_stories", "baseline_docs",
                       "baseline_score", "score_change", "volume_ratio")  # fmt: skip
DEAD_LETTER_COLUMNS = ("failed_at", "topic", "partition", "offset", "error", "raw_preview")
REASON_COLUMNS = ("reason", "messages", "latest")
_ROLLUPS = {"symbol": "stories_by_symbol_1m", "topic": "stories_by_topic_1m"}
"""The per-minute rollups, one row per key, minute and story (per symbol, and relevance): a count of
documents merges all of a bucket's rows, a count of stories groups them by story first."""
# Story rows of the rollup, one per (key, bucket, story): the story's documents there, their
# mean score, and whether most of them are negative or positive (a story counts once, as its majority).
_STORY_ROWS = """(
            SELECT {key} AS name, {bucket} AS time, story_id, countMerge(docs) AS story_docs,
                   avgMerge(score_avg) AS story_score,
                   toUInt64(sumMerge(negatives) * 2 > story_docs) AS negative,
                   toUInt64(sumMerge(positives) * 2 > story_docs) AS positive
            FROM {rollup}
            WHERE {where}
            GROUP BY name, time, story_id
        )"""
_BUCKET = "toDateTime(intDiv(toUInt32(minute), %(step)s) * %(step)s, 'UTC')"


class Scope(TypedDict, total=False):
    """The documents or alerts a read keeps: those of ``[start, end)`` and the symbol or topic given."""

    symbol: str | None
    topic: str | None
    start: Required[datetime]
    end: Required[datetime]


class SeriesQuery(Scope, total=False):
    """What ``sentiment_series`` and ``sentiment_series_json`` take: a ``Scope`` and how to count it."""

    interval_s: int
    min_relevance: int
    count: str


def sentiment_series(store: Store, **query: Unpack[SeriesQuery]) -> list[dict[str, Any]]:
    """Stories or documents, mean score and negative/positive counts per interval for one symbol, one
    topic, or (neither given) the whole market; ``interval_s`` defaults to 60.

    ``count="stories"`` (the default; ``STORY_SERIES_COLUMNS``) counts each story once per interval:
    ``docs`` is still its documents, but the mean score is over the stories' own means (a story's
    copies there averaged first), and ``negatives``/``positives`` count the stories most of whose
    copies there are negative/positive. ``count="documents"`` (``SERIES_COLUMNS``) counts every copy.
    A symbol's series counts the text's sentiment toward that symbol; a topic's and the market's
    count the documents' own. ``min_relevance`` (symbols only) keeps the documents at least that
    relevant to the symbol (the per-symbol rollup keeps each document's relevance in its key).
    """
    return store._query_dicts(*_sentiment_series_sql(**query))


def sentiment_series_json(store: Store, **query: Unpack[SeriesQuery]) -> bytes:
    """``sentiment_series`` as a JSON array, written by ClickHouse where the backend can (for the API)."""
    return store._query_json(*_sentiment_series_sql(**query))


def check_relevance_filter(min_relevance: int, *, per_symbol: bool) -> None:
    """ValueError unless ``min_relevance`` is 0-100 and, when above 0, filters symbols."""
    if not 0 <= min_relevance <= 100:
        raise InvalidQuery(f"min_relevance must be between 0 and 100, got {min_relevance}")
    if min_relevance and not per_symbol:
        raise InvalidQuery("min_relevance filters symbols only (relevance is that of a document to a symbol)")


def _sentiment_series_sql(
    *,
    symbol: str | None = None,
    topic: str | None = None,
    start: datetime,
    end: datetime,
    interval_s: int = 60,
    min_relevance: int = 0,
    count: str = "stories",
) -> tuple[str, dict[str, Any]]:
    if symbol is not None and topic is not None:
        raise InvalidQuery("give one of symbol or topic, not both (neither: the whole market)")
    if interval_s < 60 or interval_s % 60:
        raise InvalidQuery("the interval must be a whole number of minutes (the rollups are per minute)")
    check_relevance_filter(min_relevance, per_symbol=symbol is not None)
    kind, key = ("symbol", symbol.upper()) if symbol is not None else ("topic", topic and topic.lower())
    where = _rollup_where(kind, key, start, end, min_relevance)
    if _counts_stories(count):
        sql = f"""
        SELECT time, count() AS stories, sum(story_docs) AS docs, avg(story_score) AS mean_score,
               sum(negative) AS negatives, sum(positive) AS positives
        FROM {_story_rows(kind, where.sql, _BUCKET, market=symbol is None and topic is None)}
        GROUP BY time ORDER BY time"""
        return sql, where.params | {"step": interval_s}
    # Every document has exactly one topic, so all topics together (no key) are the market.
    sql = f"""
        SELECT {_BUCKET} AS time,
               countMerge(docs) AS docs, avgMerge(score_avg) AS mean_score,
               sumMerge(negatives) AS negatives, sumMerge(positives) AS positives
        FROM {_ROLLUPS[kind]}
        WHERE {where.sql}
        GROUP BY time ORDER BY time"""
    return sql, where.params | {"step": interval_s}


def _counts_stories(count: str) -> bool:
    """True for ``"stories"``, False for ``"documents"``; anything else is an ``InvalidQuery``."""
    if count not in COUNTS:
        raise InvalidQuery(f"count must be one of {', '.join(COUNTS)}, got {count!r}")
    return count == "stories"


def _rollup_where(kind: str, key: str | None, start: datetime, end: datetime, min_relevance: int) -> Where:
    """The ``kind`` rollup's rows of ``[start, end)`` for ``key`` (a symbol, a lower-case topic; None: all),
    at least ``min_relevance`` relevant: the per-symbol rollup keeps each document's relevance to the
    symbol in its key, so rows are filtered before merging."""
    where = Where().between("minute", start, end)
    where.given(f"{'symbol' if kind == 'symbol' else 'lowerUTF8(topic)'} = %(key)s", key=key)
    if min_relevance:
        where.add("relevance >= %(min_relevance)s", min_relevance=min_relevance)
    return where


def _story_rows(kind: str, where: str, bucket: str, *, market: bool = False) -> str:
    """``_STORY_ROWS`` of the ``kind`` rollup; the market's (all topics as one key) merges a story's topics."""
    key = "''" if market else kind
    return _STORY_ROWS.format(key=key, bucket=bucket, rollup=_ROLLUPS[kind], where=where)


def documents_per_symbol(store: Store, symbols: Sequence[str], since: datetime) -> dict[str, int]:
    """How many documents named each of ``symbols`` from ``since`` on (symbols without any are left out)."""
    where = Where().add("symbol IN %(symbols)s", symbols=tuple(symbols)).add("minute >= %(since)s", since=since)
    sql = f"""
        SELECT symbol, countMerge(docs) AS docs FROM stories_by_symbol_1m
        WHERE {where.sql}
        GROUP BY symbol"""
    return {symbol: int(docs) for symbol, docs in store._query(sql, where.params)}


def documents_page(
    store: Store,
    *,
    sentiment: str | None = None,
    limit: int = 50,
    before: tuple[datetime, str] | None = None,
    min_relevance: int = 0,
    **scope: Unpack[Scope],
) -> list[dict[str, Any]]:
    """Documents newest first (``event_time``, then ``doc_id``, descending), strictly after ``before``
    in that order when given: keyset paging that stays stable while new documents arrive.

    With a ``symbol``, each row also carries that symbol's sentiment, score, where they come from
    (``mention`` or ``document``) and the document's relevance to it (``SYMBOL_DOCUMENT_COLUMNS``);
    ``min_relevance`` (needs a symbol) leaves out the documents less relevant to it.
    """
    symbol, topic, start, end = scope.get("symbol"), scope.get("topic"), scope["start"], scope["end"]
    if min_relevance and symbol is None:
        raise InvalidQuery("min_relevance needs a symbol (relevance is that of a document to a symbol)")
    check_relevance_filter(min_relevance, per_symbol=True)
    symbol = symbol and symbol.upper()
    where = Where().between("event_time", start, end)
    where.given("has(symbols, %(symbol)s)", symbol=symbol)
    if min_relevance:
        where.add(f"{_RELEVANCE_OF_SYMBOL} >= %(min_relevance)s", min_relevance=min_relevance)
    where.given("lowerUTF8(topic) = %(topic)s", topic=topic and topic.lower())
    where.given("sentiment = %(sentiment)s", sentiment=None if sentiment is None else SENTIMENT_LABELS[sentiment])
    before_time, before_id = before or (None, None)
    where.given(
        "(event_time < %(before_time)s OR (event_time = %(before_time)s AND doc_id < %(before_id)s))",
        before_time=before_time,
        before_id=before_id,
    )
    per_symbol = ", symbol_sentiments, symbol_scores, symbol_sources, relevances" if symbol else ""
    sql = f"""
        SELECT doc_id, event_time AS time, kind, source, headline, url, symbols, topic, sentiment, score{per_symbol}
        FROM documents FINAL
        WHERE {where.sql}
        ORDER BY event_time DESC, doc_id DESC
        LIMIT %(limit)s"""
    rows = store._query_dicts(sql, where.params | {"limit": min(limit, MAX_DOCUMENTS_PAGE)})
    for row in rows:
        row["sentiment"] = SENTIMENT_NAMES[int(row["sentiment"])]
        if symbol:
            row.update(_symbol_values(row, symbol))
    return rows


# A document's relevance to %(symbol)s: its own where the per-symbol arrays are filled, else 100
# (rows stored before relevance existed, like score rows from then).
_RELEVANCE_OF_SYMBOL = "if(length(relevances) = length(symbols), relevances[indexOf(symbols, %(symbol)s)], 100)"


def _symbol_values(row: dict[str, Any], symbol: str) -> dict[str, Any]:
    """``symbol``'s sentiment, score, source and relevance from a document row's per-symbol arrays
    (removed from ``row``); a row without them (stored before they existed) gives the document's."""
    arrays = [row.pop(name) for name in ("symbol_sentiments", "symbol_scores", "symbol_sources", "relevances")]
    symbols = list(row["symbols"])
    at = symbols.index(symbol) if symbol in symbols else -1
    if at < 0 or any(len(values) != len(symbols) for values in arrays):
        return {"symbol": symbol, "symbol_sentiment": row["sentiment"], "symbol_score": float(row["score"]),
                "symbol_source": "document", "relevance": 100}  # fmt: skip
    sentiments, scores, sources, relevances = arrays
    return {"symbol": symbol, "symbol_sentiment": SENTIMENT_NAMES[int(sentiments[at])],
            "symbol_score": float(scores[at]), "symbol_source": str(sources[at]),
            "relevance": int(relevances[at])}  # fmt: skip


class Ranking(TypedDict, total=False):
    """What ``activity`` and ``top_movers`` take besides the kind: the window ``[start, end)``, how
    many rows (``limit``), which documents count toward a symbol (``min_relevance``, default 0) and
    what volume counts (``count``: ``"stories"``, the default, or ``"documents"``)."""

    start: Required[datetime]
    end: Required[datetime]
    limit: int
    min_relevance: int
    count: str


def activity(store: Store, kind: str, **query: Unpack[Ranking]) -> list[dict[str, Any]]:
    """Symbols (``kind="symbol"``) or topics with documents in [start, end): the busiest first
    (``limit`` rows, default 100).

    ``count="stories"`` (the default; ``STORY_ACTIVITY_COLUMNS``) ranks by distinct stories and
    averages each story's copies before the stories; ``"documents"`` (``ACTIVITY_COLUMNS``) counts
    every copy. ``min_relevance`` (symbols only) counts only the documents at least that relevant
    to each symbol.
    """
    start, end, limit = query["start"], query["end"], query.get("limit", 100)
    min_relevance, count = query.get("min_relevance", 0), query.get("count", "stories")
    column = {"symbol": "symbol", "topic": "topic"}[kind]
    check_relevance_filter(min_relevance, per_symbol=kind == "symbol")
    where = _rollup_where(kind, None, start, end, min_relevance)
    if _counts_stories(count):
        sql = f"""
        SELECT name, count() AS stories, sum(story_docs) AS docs, avg(story_score) AS mean_score
        FROM {_story_rows(kind, where.sql, "0")}
        GROUP BY name
        ORDER BY stories DESC, docs DESC, name
        LIMIT %(limit)s"""
        return store._query_dicts(sql, where.params | {"limit": int(limit)})
    sql = f"""
        SELECT {column} AS name, countMerge(docs) AS docs, avgMerge(score_avg) AS mean_score
        FROM {_ROLLUPS[kind]}
        WHERE {where.sql}
        GROUP BY name
        ORDER BY docs DESC, name
        LIMIT %(limit)s"""
    return store._query_dicts(sql, where.params | {"limit": int(limit)})


def top_movers(
    store: Store,
    kind: str,
    *,
    baseline_start: datetime,
    min_docs: int = 5,
    **query: Unpack[Ranking],
) -> list[dict[str, Any]]:
    """Symbols or topics whose mean score moved most in ``[start, end)`` against ``[baseline_start, start)``
    (``limit`` rows, default 20).

    ``score_change`` is the window's mean score minus the baseline's; ``volume_ratio`` compares
    stories (``count="stories"``, the default: ``STORY_MOVER_COLUMNS``, mean scores per story first)
    or documents (``"documents"``: ``MOVER_COLUMNS``) per hour in the window with the baseline's
    (None where the baseline is empty). Keys with fewer than ``min_docs`` documents in the window
    are left out. Symbols move by the text's sentiment toward them; ``min_relevance`` (symbols only)
    counts only the documents at least that relevant to each.
    """
    start, end, limit = query["start"], query["end"], query.get("limit", 20)
    min_relevance, count = query.get("min_relevance", 0), query.get("count", "stories")
    check_relevance_filter(min_relevance, per_symbol=kind == "symbol")
    volume = "stories" if _counts_stories(count) else "docs"

    def by_name(span_start: datetime, span_end: datetime) -> dict[str, dict[str, Any]]:
        rows = activity(store, kind, start=span_start, end=span_end, limit=100_000, min_relevance=min_relevance,
                        count=count)  # fmt: skip
        return {row["name"]: row for row in rows}

    window, baseline = by_name(start, end), by_name(baseline_start, start)
    hours = (
        max((end - start).total_seconds() / 3_600, 1e-9),
        max((start - baseline_start).total_seconds() / 3_600, 1e-9),
    )
    movers = [_mover(now, baseline.get(name), volume, hours) for name, now in window.items() if now["docs"] >= min_docs]
    movers.sort(key=lambda row: (row["score_change"] is None, -abs(row["score_change"] or 0.0), -row[volume]))
    return movers[:limit]


def _mover(
    now: dict[str, Any], before: dict[str, Any] | None, volume: str, hours: tuple[float, float]
) -> dict[str, Any]:
    """One ``top_movers`` row from a key's window and baseline activity; ``volume`` is the column counted."""
    counts = ("stories", "docs") if volume == "stories" else ("docs",)
    row: dict[str, Any] = {"name": now["name"]} | {column: int(now[column]) for column in counts}
    row["mean_score"] = round(float(now["mean_score"]), 4)
    row |= {f"baseline_{column}": int(before[column]) if before else 0 for column in counts}
    row["baseline_score"] = round(float(before["mean_score"]), 4) if before else None
    row["score_change"] = round(float(now["mean_score"] - before["mean_score"]), 4) if before else None
    window_h, baseline_h = hours
    row["volume_ratio"] = round((now[volume] / window_h) / (before[volume] / baseline_h), 3) if before else None
    return row


def dead_letter_reasons(store: Store, *, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Dead letters in [start, end) per reason (the error up to its first colon), the commonest first."""
    where = Where().between("failed_at", start, end)
    sql = f"""
        SELECT splitByChar(':', error)[1] AS reason, count() AS messages, max(failed_at) AS latest
        FROM dead_letters FINAL
        WHERE {where.sql}
        GROUP BY reason
        ORDER BY messages DESC, reason
        LIMIT 100"""
    return store._query_dicts(sql, where.params)


def latest_dead_letters(store: Store, *, start: datetime, end: datetime, limit: int = 20) -> list[dict[str, Any]]:
    """The newest dead letters in [start, end): where they came from, why, and the start of their bytes."""
    where = Where().between("failed_at", start, end)
    sql = f"""
        SELECT failed_at, topic, partition, offset, error, raw_preview
        FROM dead_letters FINAL
        WHERE {where.sql}
        ORDER BY failed_at DESC, topic, partition, offset DESC
        LIMIT %(limit)s"""
    return store._query_dicts(sql, where.params | {"limit": min(int(limit), MAX_DOCUMENTS_PAGE)})


def fired_alerts(
    store: Store, *, rule_id: str | None = None, limit: int = 100, **scope: Unpack[Scope]
) -> list[dict[str, Any]]:
    """Alerts fired in [start, end), newest first, with their delivery state."""
    symbol, topic = scope.get("symbol"), scope.get("topic")
    where = Where().between("fired_at", scope["start"], scope["end"]).given("rule_id = %(rule_id)s", rule_id=rule_id)
    where.given("symbol = %(symbol)s", symbol=symbol and symbol.upper())
    where.given("lowerUTF8(topic) = %(topic)s", topic=topic and topic.lower())
    sql = f"""
        SELECT alert_id, rule_id, toString(severity) AS severity, toString(scope) AS scope, symbol, topic,
               metric, comparison, value, threshold, window_s, doc_count, fired_at, headlines,
               toString(delivery_state) AS delivery_state
        FROM (SELECT * FROM alerts FINAL)
        WHERE {where.sql}
        ORDER BY fired_at DESC, alert_id
        LIMIT %(limit)s"""
    return store._query_dicts(sql, where.params | {"limit": min(limit, MAX_ALERTS_PAGE)})


def count_score_rows_of(store: Store, doc_ids: Sequence[str], chunk: int = 2_000) -> int:
    """Score rows (after dedup) of the given documents."""
    total = 0
    for start in range(0, len(doc_ids), chunk):
        where = Where().add("doc_id IN %(ids)s", ids=tuple(doc_ids[start : start + chunk]))
        total += int(store._query(f"SELECT count() FROM scores FINAL WHERE {where.sql}", where.params)[0][0])
    return total


def rollup_document_count(store: Store) -> int:
    """Documents counted in the per-topic rollup: equal to the stored documents when no insert was cut short."""
    return int(store._query("SELECT countMerge(docs) FROM stories_by_topic_1m")[0][0])
