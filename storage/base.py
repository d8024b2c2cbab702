"""``Store``: what the worker and the API need from ClickHouse, whichever backend holds it."""

from __future__ import annotations

import abc
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar, Self

import orjson
from pydantic import BaseModel

from schemas import DocumentRow, ScoreRecord
from schemas.records import BatchRow, DeadLetterRow
from storage.exceptions import StoreError
from storage.tables import TABLES, ddl_statements
from storage.values import chunked, sql_params, to_columns

_CREATED_NAME = re.compile(
    r"CREATE\s+(?:MATERIALIZED\s+VIEW|VIEW|TABLE)\s+(?:IF\s+NOT\s+EXISTS\s+)?([\w.]+)", re.IGNORECASE
)
_VIEW_TARGET = re.compile(
    r"CREATE\s+MATERIALIZED\s+VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?[\w.]+\s+TO\s+([\w.]+)", re.IGNORECASE
)
_EXISTING_SQL = "SELECT doc_id, content_hash FROM documents FINAL WHERE doc_id IN %(ids)s"
_RECENT_TOKENS_SQL = (
    "SELECT DISTINCT insert_token FROM documents WHERE doc_id IN %(ids)s AND insert_token != '' "
    "AND ingested_at >= now() - %(seconds)s"
)
_TOKEN_ROWS_SQL = "SELECT {columns} FROM documents FINAL WHERE insert_token = %(token)s"
_TOKEN = re.compile(r"^[0-9a-f]{1,64}$")
DEDUP_WINDOW = 100_000
"""Insert tokens each deduplicating table remembers: a replayed insert older than this many inserts
is no longer recognised, so replays are limited to ``REDO_WITHIN_S``."""
REDO_WITHIN_S = 600
SCORES_PER_SYMBOL_COLUMNS = (
    ("symbol_sentiment", "Int8 DEFAULT sentiment"),
    ("symbol_score", "Float32 DEFAULT score"),
    ("symbol_source", "Enum8('document' = 1, 'mention' = 2) DEFAULT 'document'"),
    ("relevance", "UInt8 DEFAULT 100"),
)
"""Per-symbol columns of ``scores`` added after it first shipped; a row from before reads the document's values."""
DOCUMENTS_PER_SYMBOL_COLUMNS = (
    ("symbol_sentiments", "Array(Int8) DEFAULT []"),
    ("symbol_scores", "Array(Float32) DEFAULT []"),
    ("symbol_sources", "Array(Enum8('document' = 1, 'mention' = 2)) DEFAULT []"),
    ("relevances", "Array(UInt8) DEFAULT []"),
)
"""Per-symbol arrays of ``documents`` (parallel to ``symbols``); empty in rows from before: the document's values."""
DOCUMENTS_STORY_COLUMNS = (
    ("story_id", "String DEFAULT doc_id"),
    ("similar_12h", "UInt32 DEFAULT 0"),
    ("similar_24h", "UInt32 DEFAULT 0"),
    ("novelty", "UInt8 DEFAULT 100"),
)
"""Columns ``documents`` gained with stories (``storage/stories.py``): a row from before is a story of one."""
DELIVERY_STATE_TYPE = "Enum8('pending' = 1, 'delivered' = 2, 'failed' = 3, 'not_configured' = 4)"
RETIRED = ("sentiment_by_symbol_1m_mv", "sentiment_by_topic_1m_mv", "sentiment_by_symbol_1m", "sentiment_by_topic_1m")
"""Views and tables of earlier versions, dropped by ``init_schema`` (views first, so nothing writes to a
dropped table): the per-minute rollups without stories, whose every figure the story rollups hold
(a minute's documents are the sum of its stories'), so that each documents insert feeds two views
instead of four."""
STORY_ROLLUPS = {"stories_by_symbol_1m": "stories_by_symbol_1m_mv", "stories_by_topic_1m": "stories_by_topic_1m_mv"}
"""Rollups per story (table: its view), added after ``documents`` held rows: ``init_schema`` fills a
table from the stored documents before it creates the table's view."""


def rollup_tables() -> list[str]:
    """The tables the materialized views on ``documents`` write to (the per-minute rollups)."""
    return [m.group(1) for statement in ddl_statements() if (m := _VIEW_TARGET.search(statement))]


def _created_name(statement: str) -> str | None:
    """The table or view a CREATE statement makes."""
    match = _CREATED_NAME.search(statement)
    return match.group(1) if match else None


def _select_of_view(view_statement: str) -> str:
    """A materialized view's query, reading ``documents FINAL`` (each stored document once)."""
    select = view_statement[view_statement.index(" AS\n") + len(" AS\n") :]
    return re.sub(r"\bFROM documents\b", "FROM documents FINAL", select, count=1)


def dedup_settings(token: str) -> dict[str, Any]:
    """Settings that make an insert into ``documents`` idempotent, views included, under ``token``."""
    return {"insert_deduplication_token": token, "deduplicate_blocks_in_dependent_materialized_views": 1}


def schema_objects() -> list[str]:
    """Names of every table and view ``ddl_statements()`` creates, in creation order."""
    names = []
    for statement in ddl_statements():
        match = _CREATED_NAME.search(statement)
        if match:
            names.append(match.group(1))
    return names


class Store(abc.ABC):
    """finsent's tables in one ClickHouse database; thread-safe, one call at a time.

    Backends implement the five ``_``-prefixed primitives; every public method holds the
    store's lock, so executor threads may share one store.
    """

    drop_suffix: ClassVar[str] = ""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._closed = False

    @property
    @abc.abstractmethod
    def description(self) -> str:
        """Where the data lives, without secrets (safe to log)."""

    def init_schema(self) -> None:
        """Create the database if missing, then every table and view; idempotent.

        Also brings tables from earlier versions up to date, and, where the server supports insert
        tokens, has ``documents`` and its rollups remember the last ``DEDUP_WINDOW`` of them.
        """
        with self._open():
            self._create_database()
            statements = ddl_statements()
            # Views last: a view created over an older table must find the columns it reads.
            for statement in [s for s in statements if not _VIEW_TARGET.search(s)]:
                self._command(statement)
            if self._column_type("documents", "insert_token") is None:
                self._command("ALTER TABLE documents ADD COLUMN insert_token String DEFAULT ''")
            self._add_missing_columns("scores", SCORES_PER_SYMBOL_COLUMNS)
            self._add_missing_columns("documents", DOCUMENTS_PER_SYMBOL_COLUMNS)
            self._add_missing_columns("documents", DOCUMENTS_STORY_COLUMNS)
            self._fill_story_rollups(statements)
            for name in RETIRED:
                self._command(f"DROP TABLE IF EXISTS {name}{self.drop_suffix}")
            for statement in [s for s in statements if _VIEW_TARGET.search(s)]:
                self._command(statement)
            # Alerts tables from before ``not_configured`` existed get the value (a metadata-only change).
            if "not_configured" not in str(self._column_type("alerts", "delivery_state")):
                self._command(f"ALTER TABLE alerts MODIFY COLUMN delivery_state {DELIVERY_STATE_TYPE}")
            if self.supports_insert_tokens():
                window = f"non_replicated_deduplication_window = {DEDUP_WINDOW}"
                for table in ["documents", *rollup_tables()]:
                    self._command(f"ALTER TABLE {table} MODIFY SETTING {window}")

    def _fill_story_rollups(self, statements: list[str]) -> None:
        """Fill each story rollup whose view does not exist yet from the stored documents (its view's
        query over ``documents FINAL``), emptied first so an upgrade cut short is redone whole.

        Documents inserted between the fill and the view's creation are stored but not counted, so
        upgrade with the workers stopped (``finsent`` runs this at every start; a second run finds the
        views and does nothing). A new store fills nothing.
        """
        for table, view in STORY_ROLLUPS.items():
            if self._exists(view):
                continue
            create_table = next(s for s in statements if _created_name(s) == table)
            view_query = next(s for s in statements if _created_name(s) == view)
            self._command(f"DROP TABLE IF EXISTS {table}{self.drop_suffix}")
            self._command(create_table)
            self._command(f"INSERT INTO {table} {_select_of_view(view_query)}")

    def _exists(self, name: str) -> bool:
        """Whether a table or view ``name`` exists in this store's database."""
        sql = "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = %(name)s"
        return bool(self._select(sql, sql_params({"name": name}))[1][0][0])

    def _add_missing_columns(self, table: str, columns: tuple[tuple[str, str], ...]) -> None:
        """Add each ``(name, type and default)`` missing from ``table``: old rows read the default."""
        for name, definition in columns:
            if self._column_type(table, name) is None:
                self._command(f"ALTER TABLE {table} ADD COLUMN {name} {definition}")

    def _column_type(self, table: str, column: str) -> str | None:
        """The type of ``table.column`` in this store's database, or None if there is no such column."""
        sql = ("SELECT type FROM system.columns WHERE database = currentDatabase() "
               "AND table = %(table)s AND name = %(column)s")  # fmt: skip
        found = self._select(sql, sql_params({"table": table, "column": column}))[1]
        return str(found[0][0]) if found else None

    def share(self) -> None:  # noqa: B027 -- a server store is shared already; chdb overrides it
        """Let other local processes open this store while it stays open (needed by embedded stores only)."""

    def supports_insert_tokens(self) -> bool:
        """Whether inserts can carry a deduplication token that the rollup views honour too."""
        return False

    def drop_all(self) -> None:
        """Drop every finsent table and view (views first); the database itself stays."""
        with self._open():
            for name in reversed(schema_objects()):
                self._command(f"DROP TABLE IF EXISTS {name}{self.drop_suffix}")

    def existing_documents(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """``doc_id -> content_hash`` for those of ``doc_ids`` already stored."""
        found: dict[str, str] = {}
        for chunk in chunked(list(dict.fromkeys(doc_ids))):
            found.update(self._query(_EXISTING_SQL, {"ids": tuple(chunk)}))
        return found

    def insert_scores(self, scores: Sequence[ScoreRecord]) -> None:
        """Insert a batch's score rows (idempotent: ReplacingMergeTree on a deterministic key); empties are skipped."""
        with self._open():
            self._insert_records("scores", scores)

    def insert_documents(self, documents: Sequence[DocumentRow]) -> None:
        """Insert a batch's document rows, its commit marker, under its insert token; empty lists are skipped.

        Rows already stored are not filtered here: callers skip them via ``existing_documents``,
        since the rollup views count every inserted document row. With one token for the whole
        insert (and a server that honours tokens), a retried insert is dropped, views included.
        """
        with self._open():
            tokens = {row.insert_token for row in documents}
            token = tokens.pop() if len(tokens) == 1 and self.supports_insert_tokens() else ""
            self._insert_records("documents", documents, dedup_settings(token) if token else None)

    def redo_recent_inserts(self, doc_ids: Sequence[str]) -> int:
        """Insert again, each under its own token, the recent documents inserts that stored ``doc_ids``.

        A crash can stop an insert after ``documents`` took it and before every rollup view did:
        the documents are then stored but not counted. Replaying the insert under its token gives
        the views that missed it their rows, and is dropped by those that have them. Only inserts
        of the last ``REDO_WITHIN_S`` are replayed, well inside the tables' deduplication window.
        Returns how many inserts were replayed; 0 where the server has no insert tokens.

        The rows are read back and inserted the way ``insert_documents`` inserted them. An
        ``INSERT … SELECT`` is not the same insert: the server may cut its rows into other blocks,
        whose derived tokens the tables have never seen, and then counts them a second time.
        """
        if not doc_ids or not self.supports_insert_tokens():
            return 0
        tokens: set[str] = set()
        with self._open():
            for chunk in chunked(list(dict.fromkeys(doc_ids))):
                params = {"ids": tuple(chunk), "seconds": REDO_WITHIN_S}
                tokens.update(row[0] for row in self._select(_RECENT_TOKENS_SQL, sql_params(params))[1])
            replayable = sorted(t for t in tokens if _TOKEN.match(t))
            for token in replayable:
                self._insert_records("documents", self._token_rows(token), dedup_settings(token))
        return len(replayable)

    def _token_rows(self, token: str) -> list[DocumentRow]:
        sql = _TOKEN_ROWS_SQL.format(columns=", ".join(TABLES["documents"]))
        return [DocumentRow.model_validate(row) for row in self._query_dicts(sql, {"token": token})]

    def insert_dead_letters(self, rows: Sequence[DeadLetterRow]) -> None:
        """Insert dead-letter rows (idempotent by topic, partition, offset); empty lists are skipped."""
        with self._open():
            self._insert_records("dead_letters", rows)

    def insert_batch_stats(self, rows: Sequence[BatchRow]) -> None:
        """Insert per-batch pipeline figures (for the pipeline-health dashboard)."""
        with self._open():
            self._insert_records("pipeline_batches", rows)

    def _command_locked(self, sql: str) -> None:
        """One statement that returns no rows, under the store's lock (for storage's own modules)."""
        with self._open():
            self._command(sql)

    # Raw reads are for storage's own modules (the repositories and read queries), never above them.

    def _query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
        """Rows of a read query; ``%(name)s`` placeholders are filled from ``params``, escaped."""
        return self._query_with_names(sql, params)[1]

    def _query_dicts(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """Like ``_query``, each row as ``{column name: value}``."""
        names, rows = self._query_with_names(sql, params)
        return [dict(zip(names, row, strict=True)) for row in rows]

    def _query_json(self, sql: str, params: Mapping[str, Any] | None = None) -> bytes:
        """Like ``_query_dicts``, serialised as one JSON array; datetimes as RFC 3339 UTC (``…Z``).

        For answers too long to build Python objects for: backends that can have ClickHouse
        write the JSON itself override ``_select_json``. Select Float64, not Float32, where both
        backends must agree to the digit (ClickHouse prints a Float32 in its shortest form).
        """
        with self._open():
            return self._select_json(sql, sql_params(params))

    def _select_json(self, sql: str, params: dict[str, Any] | None) -> bytes:
        names, rows = self._select(sql, params)
        return orjson.dumps(
            [dict(zip(names, row, strict=True)) for row in rows], option=orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC
        )

    def count_documents(self, final: bool = True) -> int:
        """Rows in ``documents``; with ``final``, after deduplication by ``doc_id``."""
        return self._count("documents", final)

    def count_score_rows(self, final: bool = True) -> int:
        """Rows in ``scores``; with ``final``, after deduplication."""
        return self._count("scores", final)

    def ping(self) -> None:
        """Raise StoreUnavailable (server) or StoreError unless a trivial query succeeds."""
        self._query("SELECT 1")

    def close(self) -> None:
        """Release the connection or the embedded engine; later calls raise StoreError."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._release()

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._closed

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.description}>"

    @contextmanager
    def _open(self) -> Iterator[None]:
        with self._lock:
            if self._closed:
                raise StoreError(f"store {self.description} is closed")
            yield

    def _query_with_names(self, sql: str, params: Mapping[str, Any] | None) -> tuple[list[str], list[tuple]]:
        with self._open():
            return self._select(sql, sql_params(params))

    def _count(self, table: str, final: bool) -> int:
        rows = self._query(f"SELECT count() FROM {table}{' FINAL' if final else ''}")
        return int(rows[0][0])

    def _insert_records(
        self, table: str, records: Sequence[BaseModel], settings: Mapping[str, Any] | None = None
    ) -> None:
        """Insert ``records`` into ``table`` (its columns in table order); empty lists are skipped."""
        if records:
            columns = TABLES[table]
            with self._open():
                self._insert(table, columns, to_columns(records, columns), settings)

    def _insert_columns(self, table: str, data: list[list[Any]]) -> None:
        """Insert ready column lists (``TABLES[table]`` order, datetimes as Unix seconds); empties are skipped."""
        if data and data[0]:
            with self._open():
                self._insert(table, TABLES[table], data)

    @abc.abstractmethod
    def _create_database(self) -> None:
        """``CREATE DATABASE IF NOT EXISTS`` for this store's database."""

    @abc.abstractmethod
    def _command(self, sql: str) -> None:
        """Run one statement that returns no rows."""

    @abc.abstractmethod
    def _select(self, sql: str, params: dict[str, Any] | None) -> tuple[list[str], list[tuple]]:
        """Column names and rows of one query; ``params`` datetimes are already ``UnixTime``."""

    @abc.abstractmethod
    def _insert(
        self, table: str, columns: Sequence[str], data: list[list[Any]], settings: Mapping[str, Any] | None = None
    ) -> None:
        """Insert non-empty column lists (datetimes as Unix seconds) into ``table``, with query ``settings``."""

    @abc.abstractmethod
    def _release(self) -> None:
        """Close the connection or engine; called once."""
