"""The Store contract, run against chdb and a real clickhouse-server alike."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from storage import Store, StoreError
from storage.base import schema_objects

INJECTION = "x'); DROP TABLE documents; --"
TRICKY_TEXTS = [
    "emoji 📈🚀 and ümlauts",
    "RTL: مرحبا بالعالم — שלום",
    "quotes ' \" ` and backslashes \\ \\' \\\\",
    "control\tchars\nnew line\r\0nul",
    INJECTION,
    "percent %s %(doc)s %% and braces {x:String}",
]


def table_names(store: Store) -> set[str]:
    rows = store._query("SELECT name FROM system.tables WHERE database = currentDatabase()")
    return {name for (name,) in rows}


def test_init_schema_is_idempotent(store: Store) -> None:
    store.init_schema()
    store.init_schema()
    assert table_names(store) == set(schema_objects())
    assert store.count_documents() == 0
    assert store.count_score_rows() == 0


def test_a_batch_inserts_scores_then_documents(store: Store, make_document, make_score) -> None:
    documents = [make_document(f"d{i}") for i in range(3)]
    scores = [make_score("d0", "AAPL"), make_score("d0", "MSFT"), make_score("d1"), make_score("d2")]
    store.insert_scores(scores)
    store.insert_documents(documents)
    assert store.count_documents() == 3
    assert store.count_score_rows() == 4


def test_empty_lists_write_nothing(store: Store, make_document, make_score) -> None:
    store.insert_documents([])
    store.insert_scores([])
    store.insert_scores([make_score("d0")])
    store.insert_documents([make_document("d0")])
    assert store.count_documents() == 1
    assert store.count_score_rows() == 1


def test_same_batch_twice_keeps_final_counts(store: Store, make_document, make_score) -> None:
    documents = [make_document(f"d{i}", symbols=["AAPL", "MSFT"]) for i in range(20)]
    scores = [make_score(f"d{i}", symbol) for i in range(20) for symbol in ("AAPL", "MSFT")]
    for _ in range(2):
        store.insert_scores(scores)
        store.insert_documents(documents)
    assert store.count_documents() == 20
    assert store.count_score_rows() == 40
    assert store.count_documents(final=False) in (20, 40)
    assert store._query("SELECT uniqExact(doc_id) FROM documents") == [(store.count_documents(),)]


def test_existing_documents_returns_stored_hashes(store: Store, make_document) -> None:
    store.insert_documents([make_document(f"d{i}", content_hash=f"h{i}") for i in range(5_000)])
    wanted = [f"d{i}" for i in range(5_000)] + [f"missing{i}" for i in range(50)] + ["d7"]
    found = store.existing_documents(wanted)
    assert len(found) == 5_000
    assert found["d0"] == "h0" and found["d4999"] == "h4999"
    assert store.existing_documents([]) == {}
    assert store.existing_documents([INJECTION, "d1"]) == {"d1": "h1"}


def test_every_column_round_trips(store: Store, make_document, make_score) -> None:
    event = datetime(2024, 2, 29, 23, 59, 58, tzinfo=UTC)
    ingested = datetime(2024, 3, 1, 5, 30, 1, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    documents = [
        make_document(
            f"doc-{i}",
            kind="social",
            source=text,
            event_time=event,
            ingested_at=ingested,
            headline=text,
            body=text * 3,
            url=text,
            author_hash=text,
            symbols=[text, "BRK.B", ""],
            content_hash=text,
            topic=text,
            topic_confidence=0.125,
            sentiment=-1,
            p_negative=0.7,
            p_neutral=0.2,
            p_positive=0.1,
            score=-0.6,
            model_version=text,
            likes=4_000_000_000,
            reposts=7,
            replies=0,
        )
        for i, text in enumerate(TRICKY_TEXTS)
    ]
    store.insert_scores([make_score("doc-0", TRICKY_TEXTS[1], event_time=event, kind="social", score=-1.0)])
    store.insert_documents(documents)

    rows = store._query_dicts("SELECT * FROM documents ORDER BY doc_id")
    assert [row["headline"] for row in rows] == TRICKY_TEXTS
    for row, document in zip(rows, documents, strict=True):
        expected = document.model_dump()
        for name in ("topic_confidence", "p_negative", "p_neutral", "p_positive", "score"):
            assert row.pop(name) == pytest.approx(expected.pop(name), abs=1e-6)
        assert row == expected
    assert rows[0]["event_time"].utcoffset() == timedelta(0)
    assert rows[0]["ingested_at"] == datetime(2024, 3, 1, 0, 0, 1, tzinfo=UTC)

    (score,) = store._query_dicts("SELECT * FROM scores")
    assert (score["symbol"], score["kind"], score["event_time"]) == (TRICKY_TEXTS[1], "social", event)
    assert score["score"] == -1.0 and score["sentiment"] == 1


def test_rollups_are_fed_by_the_views(store: Store, make_document) -> None:
    minute = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    store.insert_documents(
        [
            make_document("a", symbols=["AAPL"], topic="earnings", score=0.5, sentiment=1, event_time=minute),
            make_document(
                "b",
                symbols=["AAPL", "MSFT"],
                topic="earnings",
                score=-0.5,
                sentiment=-1,
                event_time=minute + timedelta(seconds=59),
            ),
            make_document(
                "c", symbols=[], topic="macro", score=0.25, sentiment=0, event_time=minute + timedelta(seconds=61)
            ),
        ]
    )
    by_symbol = store._query(
        "SELECT symbol, minute, countMerge(docs), avgMerge(score_avg), sumMerge(negatives), sumMerge(positives)"
        " FROM stories_by_symbol_1m GROUP BY symbol, minute ORDER BY symbol, minute"
    )
    assert [row[:3] for row in by_symbol] == [("AAPL", minute, 2), ("MSFT", minute, 1)]
    assert by_symbol[0][3:] == (pytest.approx(0.0), 1, 1)
    assert by_symbol[1][3:] == (pytest.approx(-0.5), 1, 0)
    by_topic = store._query(
        "SELECT topic, minute, countMerge(docs), avgMerge(score_avg) FROM stories_by_topic_1m"
        " GROUP BY topic, minute ORDER BY topic"
    )
    assert by_topic == [
        ("earnings", minute, 2, pytest.approx(0.0)),
        ("macro", minute + timedelta(minutes=1), 1, pytest.approx(0.25)),
    ]


def test_query_json_matches_query_dicts(store: Store, make_document) -> None:
    event = datetime(2024, 2, 29, 23, 59, 58, tzinfo=UTC)
    documents = [
        make_document(f"doc-{i}", headline=text, symbols=[text, "BRK.B"], event_time=event, likes=4_000_000_000)
        for i, text in enumerate(TRICKY_TEXTS)
    ]
    store.insert_documents(documents)
    select = """SELECT doc_id, headline, symbols, event_time, likes, toFloat64(score) AS score
                FROM documents WHERE doc_id != %(skip)s ORDER BY doc_id"""
    rows = store._query_dicts(select, {"skip": "doc-0"})
    as_json = [row | {"event_time": "2024-02-29T23:59:58Z"} for row in rows]
    assert orjson.loads(store._query_json(select, {"skip": "doc-0"})) == as_json
    assert len(as_json) == len(TRICKY_TEXTS) - 1
    assert store._query_json(select, {"skip": INJECTION}) != b"[]"
    assert store._query_json("SELECT 1 AS one WHERE 0") == b"[]"


def test_query_parameters_are_escaped(store: Store, make_document) -> None:
    store.insert_documents([make_document(text, headline=text) for text in TRICKY_TEXTS])
    select = "SELECT doc_id FROM documents WHERE headline = %(headline)s"
    for text in TRICKY_TEXTS:
        assert store._query(select, {"headline": text}) == [(text,)]
    assert store._query(select, {"headline": INJECTION + "'"}) == []
    assert store._query("SELECT count() FROM documents WHERE doc_id IN %(ids)s", {"ids": (INJECTION, "nope")}) == [(1,)]
    assert store.count_documents() == len(TRICKY_TEXTS)


def test_datetime_parameters_mean_instants(store: Store, make_document) -> None:
    base = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    store.insert_documents([make_document(f"d{i}", event_time=base + timedelta(minutes=i)) for i in range(10)])
    kolkata = timezone(timedelta(hours=5, minutes=30))
    since = (base + timedelta(minutes=7)).astimezone(kolkata)
    select = "SELECT count() FROM documents WHERE event_time >= %(since)s"
    assert store._query(select, {"since": since}) == [(3,)]
    assert store._query(select, {"since": (base + timedelta(minutes=7)).replace(tzinfo=None)}) == [(3,)]
    assert store._query("SELECT %(t)s", {"t": since}) == [(base + timedelta(minutes=7),)]


def test_drop_all_then_init_schema_gives_empty_tables(store: Store, make_document, make_score) -> None:
    store.insert_scores([make_score("d0")])
    store.insert_documents([make_document("d0")])
    store.drop_all()
    assert table_names(store) == set()
    store.init_schema()
    assert store.count_documents() == 0
    assert store.count_score_rows() == 0
    assert store._query("SELECT count() FROM stories_by_symbol_1m") == [(0,)]


def test_threads_share_one_store(store: Store, make_document) -> None:
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for batch in range(3):
                store.insert_documents([make_document(f"w{worker}-{batch}-{i}") for i in range(50)])
                store.existing_documents([f"w{worker}-{batch}-0"])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert store.count_documents() == 4 * 3 * 50


def test_closed_store_refuses_calls(store: Store) -> None:
    store.close()
    store.close()
    assert store.closed
    with pytest.raises(StoreError, match="closed"):
        store.count_documents()
    assert "password" not in repr(store)
