"""The story index in ClickHouse, shared by every worker: LSH band keys and what confirms a match.

Per batch a worker writes its documents' keys (``add_story_keys``), then asks once which stored
documents share any of them (``story_candidate_ids``), and fetches the fingerprints of only those it
does not hold already (``story_fingerprints``): writing first means that of two workers storing
copies of one new story at the same moment, at least the later reader sees the other's copy.
Rows live in daily partitions; ``expire_stories`` drops the days no lookup can reach any more
(18.16 has no TTL), and every lookup bounds ``event_time`` itself, so a late drop is harmless.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from schemas.stories import StoryDocRow
from storage.base import Store
from storage.clauses import Where
from storage.values import IntegersText, chunked, epoch_seconds

CANDIDATES_PER_KEY = 50
"""The earliest documents one band key yields: a key every template shares cannot flood a batch."""
MAX_CANDIDATES = 20_000
"""Documents one lookup returns at most (bounded memory, whatever the batch)."""
KEYS_PER_QUERY = 20_000
"""Band keys per lookup: at most 220 KB of SQL (``max_query_size`` is 256 KiB); a batch of 1,024
documents has 16,384 keys at most, so one query. They go as one comma-separated string that the
server splits: parsing the same keys as an ``IN (…)`` list of literals costs ClickHouse about 3 µs
a key (20 ms for a batch's 7,000), the string a fraction of that."""

_CANDIDATES_SQL = f"""
SELECT doc_id FROM (
    SELECT DISTINCT doc_id, event_time FROM (
        SELECT doc_id, event_time FROM story_keys
        WHERE band_key IN (SELECT arrayJoin(arrayMap(key -> toUInt32(key), splitByChar(',', %(keys)s))))
          AND event_time >= %(since)s AND event_time <= %(until)s
        ORDER BY band_key, event_time, doc_id
        LIMIT {CANDIDATES_PER_KEY} BY band_key
    )
    ORDER BY event_time, doc_id
    LIMIT {MAX_CANDIDATES}
)
"""
_FINGERPRINTS_SQL = """
SELECT doc_id, event_time, shingles, facts FROM story_docs FINAL
WHERE event_time >= %(since)s AND event_time <= %(until)s AND doc_id IN %(ids)s
"""
_STORIES_OF_SQL = "SELECT DISTINCT story_id FROM documents FINAL WHERE doc_id IN %(ids)s"
_PARTITIONS_SQL = (
    "SELECT DISTINCT partition FROM system.parts WHERE database = currentDatabase() AND table = %(table)s AND active"
)


STORY_COLUMNS = ("story_id", "first_seen", "first_headline", "copies", "sources", "mean_score", "negatives")
MAX_STORIES = 500


def top_stories(
    store: Store, *, symbol: str | None = None, start: datetime, end: datetime, limit: int = 20
) -> list[dict[str, Any]]:
    """The stories with documents in [start, end) (about ``symbol`` if given), most copies first: the
    first headline, when it was first seen, copies, sources, and sentiment averaged over the copies."""
    where = Where().between("event_time", start, end)
    where.given("has(symbols, %(symbol)s)", symbol=symbol and symbol.upper())
    sql = f"""
        SELECT story_id, min(event_time) AS first_seen, argMin(headline, event_time) AS first_headline,
               count() AS copies, arraySort(groupUniqArray(source)) AS sources,
               toFloat64(avg(score)) AS mean_score, toUInt64(sum(sentiment = -1)) AS negatives
        FROM documents FINAL
        WHERE {where.sql}
        GROUP BY story_id
        ORDER BY copies DESC, first_seen DESC, story_id
        LIMIT %(limit)s"""
    return store._query_dicts(sql, where.params | {"limit": min(limit, MAX_STORIES)})


def stories_of(store: Store, doc_ids: Sequence[str]) -> int:
    """How many stories the stored documents among ``doc_ids`` tell (distinct ``story_id``)."""
    found: set[str] = set()
    for chunk in chunked(list(dict.fromkeys(doc_ids))):
        found.update(row[0] for row in store._query(_STORIES_OF_SQL, {"ids": tuple(chunk)}))
    return len(found)


class StoryRepository:
    """The story tables of one store (see the module doc)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def add_story_keys(self, docs: Sequence[StoryDocRow], keys: Sequence[Sequence[int]]) -> None:
        """Store documents' fingerprints and band keys, ``keys[i]`` those of ``docs[i]`` (idempotent: a
        retried batch adds nothing). Keys go in as plain columns: a batch has sixteen a document, too
        many to build models for."""
        if len(docs) != len(keys):
            raise ValueError(f"{len(docs)} documents but {len(keys)} lists of band keys")
        self._store._insert_records("story_docs", docs)
        band_keys = [key for doc_keys in keys for key in doc_keys]
        if band_keys:
            seconds = [epoch_seconds(doc.event_time) for doc in docs]
            times = [at for at, doc_keys in zip(seconds, keys, strict=True) for _ in doc_keys]
            doc_ids = [doc.doc_id for doc, doc_keys in zip(docs, keys, strict=True) for _ in doc_keys]
            self._store._insert_columns("story_keys", [band_keys, times, doc_ids])

    def story_candidate_ids(self, keys: Sequence[int], since: datetime, until: datetime) -> list[str]:
        """The ids of the documents with ``since <= event_time <= until`` sharing a band key in ``keys``
        (distinct; the earliest ``CANDIDATES_PER_KEY`` per key, ``MAX_CANDIDATES`` per query at most).

        Only ids: a worker has most candidates' fingerprints already (its own recent documents), and
        asks ``story_fingerprints`` for the others; the story_keys table alone answers this."""
        distinct = sorted(set(keys))
        found: dict[str, None] = {}
        for start in range(0, len(distinct), KEYS_PER_QUERY):
            params = {"keys": IntegersText(distinct[start : start + KEYS_PER_QUERY]), "since": since, "until": until}
            found.update(dict.fromkeys(doc_id for (doc_id,) in self._store._query(_CANDIDATES_SQL, params)))
        return list(found)

    def story_fingerprints(self, doc_ids: Sequence[str], since: datetime, until: datetime) -> list[StoryDocRow]:
        """The stored fingerprints of those of ``doc_ids`` with ``since <= event_time <= until``."""
        found: dict[str, StoryDocRow] = {}
        for chunk in chunked(list(dict.fromkeys(doc_ids))):
            params = {"ids": tuple(chunk), "since": since, "until": until}
            for doc_id, event_time, shingles, facts in self._store._query(_FINGERPRINTS_SQL, params):
                if doc_id not in found:
                    found[doc_id] = StoryDocRow.model_construct(
                        doc_id=doc_id, event_time=event_time, shingles=shingles, facts=facts
                    )
        return list(found.values())

    def story_candidates(self, keys: Sequence[int], since: datetime, until: datetime) -> list[StoryDocRow]:
        """Documents with ``since <= event_time <= until`` sharing a band key in ``keys`` (distinct), with
        their fingerprints: ``story_candidate_ids`` then ``story_fingerprints``."""
        return self.story_fingerprints(self.story_candidate_ids(keys, since, until), since, until)

    def expire_stories(self, now: datetime, keep: timedelta) -> int:
        """Drop the daily partitions that end before ``now - keep``; how many were dropped."""
        cutoff = int((now - keep).strftime("%Y%m%d"))
        dropped = 0
        for table in ("story_keys", "story_docs"):
            for (partition,) in self._store._query(_PARTITIONS_SQL, {"table": table}):
                day = int(str(partition).strip("'"))
                if day < cutoff:
                    self._store._command_locked(f"ALTER TABLE {table} DROP PARTITION {day}")
                    dropped += 1
        return dropped
