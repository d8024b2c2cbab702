"""A documents insert that a crash cut short is completed by replaying it under its token.

ClickHouse commits the ``documents`` part and each rollup view's part separately; these tests
play the crash by detaching the views for one insert.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from schemas import DocumentRow
from storage import Store, open_store
from storage.base import REDO_WITHIN_S, rollup_tables

TOKEN = "5" * 32


def rollup_counts(store: Store) -> list[int]:
    """Documents counted by each rollup (the symbol rollup counts each of a document's symbols)."""
    return [int(store._query(f"SELECT countMerge(docs) FROM {table}")[0][0]) for table in rollup_tables()]


@contextmanager
def views_detached(store: Store) -> Iterator[None]:
    views = [f"{table}_mv" for table in rollup_tables()]
    for view in views:
        store._command(f"DETACH TABLE {view}")
    try:
        yield
    finally:
        for view in views:
            store._command(f"ATTACH TABLE {view}")


def batch(make_document: Callable[..., DocumentRow], count: int, **fields: Any) -> list[DocumentRow]:
    now = datetime.now(UTC).replace(microsecond=0)
    values = {"ingested_at": now, "insert_token": TOKEN} | fields
    return [make_document(f"d{i}", **values) for i in range(count)]


def test_rollups_name_their_views() -> None:
    assert rollup_tables() == ["stories_by_symbol_1m", "stories_by_topic_1m"]


@pytest.fixture
def tokens_store(tmp_path: Path) -> Iterator[Store]:
    """chdb: insert tokens need ClickHouse 24.8, newer than the tests' server (18.16)."""
    with open_store(f"chdb://{tmp_path / 'chdb'}") as store:
        store.init_schema()
        assert store.supports_insert_tokens()
        yield store


def test_a_retried_insert_counts_once_in_the_rollups(tokens_store: Store, make_document) -> None:
    documents = batch(make_document, 10)
    tokens_store.insert_documents(documents)
    tokens_store.insert_documents(documents)  # the retry of an insert that had in fact succeeded
    assert tokens_store.count_documents(final=False) == 10
    assert rollup_counts(tokens_store) == [10] * len(rollup_tables())


def test_an_insert_the_views_missed_is_completed_once(tokens_store: Store, make_document) -> None:
    documents = batch(make_document, 10)
    with views_detached(tokens_store):
        tokens_store.insert_documents(documents)
    assert tokens_store.count_documents() == 10 and rollup_counts(tokens_store) == [0] * len(rollup_tables())

    assert tokens_store.redo_recent_inserts(["d3", "d7", "unknown"]) == 1
    assert rollup_counts(tokens_store) == [10] * len(rollup_tables())
    assert tokens_store.redo_recent_inserts(["d3"]) == 1  # replayed again: the views drop it
    assert rollup_counts(tokens_store) == [10] * len(rollup_tables())
    assert tokens_store.count_documents(final=False) == 10


def test_a_complete_insert_replayed_is_not_counted_again(tokens_store: Store, make_document) -> None:
    tokens_store.insert_documents(batch(make_document, 4))
    assert tokens_store.redo_recent_inserts(["d0", "d1", "d2", "d3"]) == 1
    assert rollup_counts(tokens_store) == [4] * len(rollup_tables())


def test_replaying_many_complete_inserts_counts_each_once(tokens_store: Store, make_document) -> None:
    """Ids that interleave (d1, d10, d11, …) spread one insert over several ranges of the merged,
    sorted parts; an ``INSERT … SELECT`` of its rows then became several blocks and counted twice."""
    now = datetime.now(UTC).replace(microsecond=0)
    for number in range(5):
        token = f"{number:032x}"
        documents = [make_document(f"d{number * 10 + i}", ingested_at=now, insert_token=token) for i in range(10)]
        tokens_store.insert_documents(documents)
    assert tokens_store.redo_recent_inserts([f"d{i}" for i in range(50)]) == 5
    assert rollup_counts(tokens_store) == [50] * len(rollup_tables())
    assert tokens_store.count_documents(final=False) == 50


def test_only_recent_inserts_are_replayed(tokens_store: Store, make_document) -> None:
    long_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=REDO_WITHIN_S + 60)
    tokens_store.insert_documents(batch(make_document, 3, ingested_at=long_ago))
    untokened = [make_document("plain")]
    tokens_store.insert_documents(untokened)
    assert tokens_store.redo_recent_inserts(["d0", "plain"]) == 0


@pytest.mark.integration
def test_old_servers_replay_nothing(clickhouse_url: str, make_document) -> None:
    with open_store(clickhouse_url) as store:
        store.init_schema()
        try:
            assert not store.supports_insert_tokens()  # the tests' server is 18.16
            store.insert_documents(batch(make_document, 3))
            assert store.redo_recent_inserts(["d0"]) == 0
            assert store.count_documents() == 3 and rollup_counts(store) == [3] * len(rollup_tables())
        finally:
            store.drop_all()


def test_init_schema_adds_the_token_column_to_an_older_documents_table(store: Store, make_document) -> None:
    store._command("ALTER TABLE documents DROP COLUMN insert_token")
    store.init_schema()
    store.insert_documents(batch(make_document, 2))
    assert store._query("SELECT DISTINCT insert_token FROM documents") == [(TOKEN,)]
