"""Per-symbol sentiment in storage: the rollup reads each symbol's score, relevance filters, the migration."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from schemas import DocumentRow, ScoreRecord
from storage import Store, open_store
from storage.base import RETIRED
from storage.queries import activity, documents_page, sentiment_series, top_movers

from .conftest import T0

OLD_SCHEMA = Path(__file__).with_name("data") / "tables_8aedfb0.sql"
"""``storage/sql/tables.sql`` as shipped before per-symbol sentiment (commit 8aedfb0)."""
SPAN = {"start": T0 - timedelta(hours=1), "end": T0 + timedelta(hours=1)}
MINUTE = T0.replace(second=0)
"""The minute of T0: the rollups count whole minutes from the start of a range on."""
# "Ford beats estimates while rival General Motors misses": one document, two opposite companies.
FORD_GM = {"symbols": ["F", "GM"], "sentiment": 1, "score": 0.9, "symbol_sentiments": [1, -1],
           "symbol_scores": [0.9, -0.8], "symbol_sources": ["mention", "mention"], "relevances": [90, 60]}  # fmt: skip


def per_symbol(
    make_document: Callable[..., DocumentRow], make_score: Callable[..., ScoreRecord], doc_id: str, **fields: Any
) -> tuple[DocumentRow, list[ScoreRecord]]:
    """A document row and its score rows, one per symbol, carrying the same per-symbol values."""
    document = make_document(doc_id, **fields)
    scores = []
    for at, symbol in enumerate(document.symbols):
        per = {"symbol_sentiment": document.sentiment, "symbol_score": document.score}
        if document.symbol_scores:
            per = {"symbol_sentiment": document.symbol_sentiments[at], "symbol_score": document.symbol_scores[at],
                   "symbol_source": document.symbol_sources[at], "relevance": document.relevances[at]}  # fmt: skip
        scores.append(make_score(doc_id, symbol, sentiment=document.sentiment, score=document.score,
                                 event_time=document.event_time, topic=document.topic, **per))  # fmt: skip
    return document, scores


def store_all(store: Store, rows: list[tuple[DocumentRow, list[ScoreRecord]]]) -> None:
    store.insert_scores([score for _, scores in rows for score in scores])
    store.insert_documents([document for document, _ in rows])


def test_each_symbol_of_a_document_gets_its_own_series_and_the_topic_keeps_the_documents(
    store: Store, make_document: Callable[..., DocumentRow], make_score: Callable[..., ScoreRecord]
) -> None:
    rows = [per_symbol(make_document, make_score, "fgm", topic="Earnings", **FORD_GM)]
    store_all(store, rows)
    ford, gm = (sentiment_series(store, symbol=s, **SPAN) for s in ("F", "gm"))
    assert ford[0]["mean_score"] == pytest.approx(0.9) and (ford[0]["positives"], ford[0]["negatives"]) == (1, 0)
    assert gm[0]["mean_score"] == pytest.approx(-0.8) and (gm[0]["positives"], gm[0]["negatives"]) == (0, 1)
    (topic,) = sentiment_series(store, topic="earnings", **SPAN)
    (market,) = sentiment_series(store, **SPAN)
    assert topic["mean_score"] == market["mean_score"] == pytest.approx(0.9) and topic["positives"] == 1
    stored = {s: (r, src, rel) for s, r, src, rel in store._query(
        "SELECT symbol, symbol_score, toString(symbol_source), relevance FROM scores FINAL")}  # fmt: skip
    assert stored == {"F": (pytest.approx(0.9), "mention", 90), "GM": (pytest.approx(-0.8), "mention", 60)}


def test_a_document_without_per_symbol_values_counts_its_own_for_each_symbol(
    store: Store, make_document: Callable[..., DocumentRow]
) -> None:
    store.insert_documents([make_document("old", symbols=["F", "GM"], score=-0.4, sentiment=-1)])
    for symbol in ("F", "GM"):
        (point,) = sentiment_series(store, symbol=symbol, **SPAN)
        assert point["mean_score"] == pytest.approx(-0.4) and point["negatives"] == 1
    (page,) = documents_page(store, symbol="gm", **SPAN)
    assert (page["symbol_sentiment"], page["symbol_score"], page["symbol_source"], page["relevance"]) == (
        "negative", pytest.approx(-0.4), "document", 100)  # fmt: skip


@pytest.fixture
def relevance_history(
    store: Store, make_document: Callable[..., DocumentRow], make_score: Callable[..., ScoreRecord]
) -> Store:
    """F in a story about it (relevance 90, positive) and in a list of tickers (relevance 10, negative),
    an hour apart from a baseline story (relevance 80, neutral)."""
    listed = {"symbols": ["F", "GM", "TSLA"], "sentiment": -1, "score": -0.6, "symbol_sentiments": [-1] * 3,
              "symbol_scores": [-0.6] * 3, "symbol_sources": ["mention"] * 3, "relevances": [10, 10, 95]}  # fmt: skip
    baseline = {
        "symbols": ["F"],
        "sentiment": 0,
        "score": 0.0,
        "symbol_sentiments": [0],
        "symbol_scores": [0.0],
        "symbol_sources": ["mention"],
        "relevances": [80],
        "event_time": T0 - timedelta(minutes=30),
    }
    store_all(store, [
        per_symbol(make_document, make_score, "story", **FORD_GM),
        per_symbol(make_document, make_score, "list", **listed, event_time=T0 + timedelta(seconds=20)),
        per_symbol(make_document, make_score, "base", **baseline),
    ])  # fmt: skip
    return store


def test_min_relevance_filters_a_symbols_series(relevance_history: Store) -> None:
    (everything,) = sentiment_series(relevance_history, symbol="F", start=MINUTE, end=SPAN["end"])
    (relevant,) = sentiment_series(relevance_history, symbol="F", start=MINUTE, end=SPAN["end"], min_relevance=50)
    assert (everything["docs"], everything["negatives"]) == (2, 1)
    assert everything["mean_score"] == pytest.approx((0.9 - 0.6) / 2)
    assert (relevant["docs"], relevant["negatives"], relevant["positives"]) == (1, 0, 1)
    assert relevant["mean_score"] == pytest.approx(0.9) and relevant["time"] == everything["time"]
    assert sentiment_series(relevance_history, symbol="GM", min_relevance=61, **SPAN) == []
    as_filtered = sentiment_series(relevance_history, symbol="F", min_relevance=1, **SPAN)
    assert as_filtered == sentiment_series(relevance_history, symbol="F", **SPAN), "same columns, same rows"


def test_min_relevance_filters_movers_and_documents(relevance_history: Store) -> None:
    window = {"start": MINUTE, "end": SPAN["end"], "baseline_start": SPAN["start"], "min_docs": 1}
    movers = {row["name"]: row for row in top_movers(relevance_history, "symbol", **window, min_relevance=50)}
    assert set(movers) == {"F", "GM", "TSLA"}
    assert (movers["F"]["docs"], movers["F"]["score_change"]) == (1, pytest.approx(0.9))
    unfiltered = {row["name"]: row for row in top_movers(relevance_history, "symbol", **window)}
    assert unfiltered["F"]["docs"] == 2 and unfiltered["F"]["score_change"] == pytest.approx(0.15)
    assert [row["doc_id"] for row in documents_page(relevance_history, symbol="f", **SPAN)] == ["list", "story", "base"]
    relevant = documents_page(relevance_history, symbol="f", min_relevance=50, **SPAN)
    assert [(row["doc_id"], row["relevance"]) for row in relevant] == [("story", 90), ("base", 80)]
    long_range = {"start": T0 - timedelta(days=90), "end": SPAN["end"]}
    assert documents_page(relevance_history, symbol="F", min_relevance=50, **long_range) == relevant, "a page: no bound"
    (gm,) = documents_page(relevance_history, symbol="GM", min_relevance=50, **SPAN)
    assert (gm["sentiment"], gm["symbol_sentiment"], gm["symbol_score"], gm["symbol_source"]) == (
        "positive", "negative", pytest.approx(-0.8), "mention")  # fmt: skip


def test_a_filtered_count_of_documents_reads_committed_documents_over_any_range(
    relevance_history: Store, make_document: Callable[..., DocumentRow], make_score: Callable[..., ScoreRecord]
) -> None:
    # Score rows whose documents insert never came (a crash between the two) are not counted,
    # filtered or not: both counts read the rollup the documents insert fills.
    (_, orphans) = per_symbol(make_document, make_score, "orphan", **FORD_GM, event_time=T0 + timedelta(seconds=40))
    relevance_history.insert_scores(orphans)
    long_range = {"start": T0 - timedelta(days=90), "end": SPAN["end"]}
    (ford,) = sentiment_series(relevance_history, symbol="F", min_relevance=50, count="documents", **long_range)[-1:]
    assert (ford["docs"], ford["positives"], ford["negatives"]) == (1, 1, 0)
    assert ford["mean_score"] == pytest.approx(0.9)
    documents = {**long_range, "symbol": "F", "count": "documents"}
    assert sentiment_series(relevance_history, **documents) == sentiment_series(
        relevance_history, min_relevance=1, **documents)  # fmt: skip
    ranked = activity(relevance_history, "symbol", min_relevance=50, count="documents", **long_range)
    assert [(row["name"], row["docs"]) for row in ranked] == [("F", 2), ("GM", 1), ("TSLA", 1)]


def test_min_relevance_is_refused_where_it_means_nothing(relevance_history: Store) -> None:
    with pytest.raises(ValueError, match="symbols only"):
        sentiment_series(relevance_history, topic="earnings", min_relevance=10, **SPAN)
    with pytest.raises(ValueError, match="symbols only"):
        top_movers(relevance_history, "topic", start=T0, end=T0, baseline_start=SPAN["start"], min_relevance=10)
    with pytest.raises(ValueError, match="needs a symbol"):
        documents_page(relevance_history, min_relevance=10, **SPAN)
    with pytest.raises(ValueError, match="between 0 and 100"):
        sentiment_series(relevance_history, symbol="F", min_relevance=101, **SPAN)


# The migration: tables as shipped before per-symbol sentiment, rows in them, then init_schema.

OLD_DOCUMENT_COLUMNS = ("doc_id", "kind", "source", "event_time", "ingested_at", "headline", "body", "url",
                        "author_hash", "symbols", "content_hash", "topic", "topic_confidence", "sentiment",
                        "p_negative", "p_neutral", "p_positive", "score", "model_version", "likes", "reposts",
                        "replies", "insert_token")  # fmt: skip
OLD_SCORE_COLUMNS = ("doc_id", "kind", "source", "symbol", "event_time", "topic", "topic_confidence", "sentiment",
                     "p_negative", "p_neutral", "p_positive", "score", "model_version", "ingested_at")  # fmt: skip


@pytest.fixture(params=[pytest.param(name, marks=pytest.mark.integration) for name in ("chdb", "clickhouse")])
def old_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A store whose tables are those of commit 8aedfb0, holding two old documents and their score rows."""
    url = f"chdb://{tmp_path / 'chdb'}" if request.param == "chdb" else request.getfixturevalue("clickhouse_url")
    store = open_store(url)
    try:
        with store._open():
            store._create_database()
            for statement in OLD_SCHEMA.read_text().split("\n;\n"):
                sql = "\n".join(line for line in statement.splitlines() if not line.strip().startswith("--"))
                if sql.strip():
                    store._command(sql)
        seconds = int(T0.timestamp())
        documents = [("a", "news", "wire", seconds, seconds, "h a", "", "", "", ["F", "GM"], "ha", "Earnings", 0.9, 1,
                      0.05, 0.1, 0.85, 0.8, "m0", 0, 0, 0, ""),
                     ("b", "news", "wire", seconds + 1, seconds, "h b", "", "", "", ["GM"], "hb", "Earnings", 0.9, -1,
                      0.7, 0.2, 0.1, -0.6, "m0", 0, 0, 0, "")]  # fmt: skip
        store._insert("documents", OLD_DOCUMENT_COLUMNS, [list(column) for column in zip(*documents, strict=True)])
        scores = [("a", "news", "wire", symbol, seconds, "Earnings", 0.9, 1, 0.05, 0.1, 0.85, 0.8, "m0", seconds)
                  for symbol in ("F", "GM")]  # fmt: skip
        scores.append(("b", "news", "wire", "GM", seconds + 1, "Earnings", 0.9, -1, 0.7, 0.2, 0.1, -0.6, "m0", seconds))
        store._insert("scores", OLD_SCORE_COLUMNS, [list(column) for column in zip(*scores, strict=True)])
        yield store
        if request.param == "clickhouse" and not store.closed:
            store.drop_all()
    finally:
        store.close()


def old_rollup_series(store: Store, table: str, key: str, value: str) -> list[tuple[Any, ...]]:
    """Per minute: documents, mean score, negatives and positives, read from a rollup of commit 8aedfb0."""
    sql = (f"SELECT minute, countMerge(docs), avgMerge(score_avg), sumMerge(negatives), sumMerge(positives)"
           f" FROM {table} WHERE {key} = %(value)s GROUP BY minute ORDER BY minute")  # fmt: skip
    return [tuple(row) for row in store._query(sql, {"value": value})]


def as_rollup_rows(series: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(p["time"], p["docs"], pytest.approx(p["mean_score"]), p["negatives"], p["positives"]) for p in series]


def test_the_migration_keeps_every_figure_and_retires_the_rollups_without_stories(
    old_store: Store, make_document: Callable[..., DocumentRow], make_score: Callable[..., ScoreRecord]
) -> None:
    documents = {**SPAN, "count": "documents"}
    before = {s: old_rollup_series(old_store, "sentiment_by_symbol_1m", "symbol", s) for s in ("F", "GM")}
    topic_before = old_rollup_series(old_store, "sentiment_by_topic_1m", "topic", "Earnings")
    assert [row[1] for row in before["GM"]] == [2]
    old_store.init_schema()
    old_store.init_schema()  # idempotent: filled once, dropped once
    tables = old_store._query("SELECT name FROM system.tables WHERE database = currentDatabase()")
    assert not {str(row[0]) for row in tables} & set(RETIRED)
    for symbol in ("F", "GM"):
        assert before[symbol] == as_rollup_rows(sentiment_series(old_store, symbol=symbol, **documents))
    assert topic_before == as_rollup_rows(sentiment_series(old_store, topic="Earnings", **documents))
    # The story rollups were filled from the old rows: each document a story of one.
    for symbol in ("F", "GM"):
        as_documents = sentiment_series(old_store, symbol=symbol, **documents)
        assert [{**p, "stories": p["docs"]} for p in as_documents] == sentiment_series(old_store, symbol=symbol, **SPAN)
    assert [p["stories"] for p in sentiment_series(old_store, topic="Earnings", **SPAN)] == [2]
    rows = old_store._query_dicts(
        "SELECT doc_id, symbol, score, symbol_score, sentiment, symbol_sentiment, toString(symbol_source) AS source,"
        " relevance FROM scores FINAL ORDER BY doc_id, symbol")  # fmt: skip
    assert [(r["doc_id"], r["symbol"]) for r in rows] == [("a", "F"), ("a", "GM"), ("b", "GM")]
    for row in rows:
        assert (row["symbol_score"], row["symbol_sentiment"]) == (row["score"], row["sentiment"])
        assert (row["source"], row["relevance"]) == ("document", 100)
    (old_gm,) = [row for row in documents_page(old_store, symbol="GM", **SPAN) if row["doc_id"] == "a"]
    assert (old_gm["symbol_score"], old_gm["symbol_source"]) == (pytest.approx(0.8), "document")
    # New documents feed the rollups once, with each symbol's own score.
    store_all(
        old_store, [per_symbol(make_document, make_score, "fgm", **FORD_GM, event_time=T0 + timedelta(hours=0.5))]
    )
    after = sentiment_series(old_store, symbol="GM", **documents)
    assert [p["docs"] for p in after] == [2, 1] and after[1]["mean_score"] == pytest.approx(-0.8)
    assert [p["stories"] for p in sentiment_series(old_store, symbol="GM", **SPAN)] == [2, 1]
    assert as_rollup_rows(after[:1]) == before["GM"]
