"""The story index and the story columns on every backend: lookups, expiry, and the migration."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from schemas import DocumentRow
from schemas.stories import StoryDocRow
from storage import Store
from storage.base import DOCUMENTS_STORY_COLUMNS
from storage.stories import StoryRepository, stories_of, top_stories
from storage.tables import TABLES, ddl_statements
from storage.values import to_columns

T0 = datetime(2024, 3, 1, 12, 0, 5, tzinfo=UTC)


def fingerprint(doc_id: str, at: datetime) -> StoryDocRow:
    return StoryDocRow(doc_id=doc_id, event_time=at, shingles=[3, 1, 2], facts=["$nvda"])


def test_candidates_share_a_key_and_fall_inside_the_window(store: Store) -> None:
    stories = StoryRepository(store)
    docs = [fingerprint("a", T0), fingerprint("b", T0 + timedelta(hours=1)), fingerprint("old", T0 - timedelta(days=2))]
    keys = [[7, 8], [7], [7]]
    stories.add_story_keys(docs, keys)
    stories.add_story_keys(docs, keys)  # a retried batch changes nothing
    found = stories.story_candidates([7, 9], T0 - timedelta(days=1), T0 + timedelta(hours=2))
    assert sorted(row.doc_id for row in found) == ["a", "b"]
    assert {tuple(row.shingles) for row in found} == {(3, 1, 2)} and found[0].facts == ["$nvda"]
    assert stories.story_candidates([8], T0 - timedelta(days=1), T0 - timedelta(hours=1)) == []
    assert stories.story_candidates([], T0, T0) == []


def test_expiry_drops_whole_days_older_than_the_window(store: Store) -> None:
    stories = StoryRepository(store)
    old, recent = T0 - timedelta(days=3), T0
    stories.add_story_keys([fingerprint("old", old), fingerprint("new", recent)], [[1], [1]])
    assert stories.expire_stories(T0, keep=timedelta(hours=48)) == 2  # one day of each table
    found = stories.story_candidates([1], old - timedelta(days=1), recent)
    assert [row.doc_id for row in found] == ["new"]
    assert stories.expire_stories(T0, keep=timedelta(hours=48)) == 0


def test_documents_stored_before_stories_become_stories_of_one(
    store: Store, make_document: Callable[..., DocumentRow]
) -> None:
    store.drop_all()
    story_columns = {name for name, _ in DOCUMENTS_STORY_COLUMNS}
    documents_ddl = next(s for s in ddl_statements() if "TABLE IF NOT EXISTS documents" in s)
    old_ddl = "\n".join(line for line in documents_ddl.splitlines() if line.split()[0] not in story_columns)
    store._command_locked(re.sub(r",\s*\n\)", "\n)", old_ddl))  # the last column left has no comma
    old_columns = [name for name in TABLES["documents"] if name not in story_columns]
    with store._open():
        store._insert("documents", old_columns, to_columns([make_document("old1")], old_columns))

    store.init_schema()
    rows = store._query("SELECT doc_id, story_id, similar_12h, similar_24h, novelty, headline FROM documents FINAL")
    assert rows == [("old1", "old1", 0, 0, 100, "headline old1")]
    store.insert_documents([make_document("new1", story_id="old1", similar_24h=1, similar_12h=1, novelty=75)])
    rows = store._query("SELECT doc_id, story_id, novelty FROM documents FINAL ORDER BY doc_id")
    assert rows == [("new1", "old1", 75), ("old1", "old1", 100)]


def test_top_stories_count_copies_and_keep_the_first_headline(
    store: Store, make_document: Callable[..., DocumentRow]
) -> None:
    later = T0 + timedelta(minutes=5)
    store.insert_documents([
        make_document("n1", headline="Nvidia sinks", symbols=["NVDA"], score=-0.8, sentiment=-1),
        make_document("s1", headline="$NVDA - Nvidia sinks", source="x", symbols=["NVDA"], event_time=later,
                      story_id="n1", novelty=75, score=-0.6, sentiment=-1),
        make_document("a1", headline="Apple rises", symbols=["AAPL"]),
    ])  # fmt: skip
    stories = top_stories(store, start=T0 - timedelta(hours=1), end=T0 + timedelta(hours=1))
    assert [(s["story_id"], s["copies"], s["first_headline"]) for s in stories] == [
        ("n1", 2, "Nvidia sinks"),
        ("a1", 1, "Apple rises"),
    ]
    assert stories[0]["sources"] == ["wire", "x"] and stories[0]["negatives"] == 2
    assert abs(stories[0]["mean_score"] + 0.7) < 1e-6
    nvda = top_stories(store, symbol="nvda", start=T0 - timedelta(hours=1), end=T0 + timedelta(hours=1))
    assert [s["story_id"] for s in nvda] == ["n1"]


def test_stories_of_counts_distinct_stories_among_documents(
    store: Store, make_document: Callable[..., DocumentRow]
) -> None:
    store.insert_documents([make_document("n1"), make_document("s1", story_id="n1"), make_document("a1")])
    assert stories_of(store, ["n1", "s1", "a1", "missing"]) == 2
    assert stories_of(store, ["s1"]) == 1 and stories_of(store, []) == 0


def test_candidate_ids_come_from_the_keys_and_fingerprints_only_for_the_ids_asked(store: Store) -> None:
    stories = StoryRepository(store)
    docs = [fingerprint("a", T0), fingerprint("b", T0 + timedelta(hours=1)), fingerprint("c", T0)]
    stories.add_story_keys(docs, [[7], [7], [9]])
    window = (T0 - timedelta(days=1), T0 + timedelta(hours=2))
    assert stories.story_candidate_ids([7, 8], *window) == ["a", "b"]  # earliest first
    assert stories.story_candidate_ids([7], T0 + timedelta(minutes=30), window[1]) == ["b"]
    found = stories.story_fingerprints(["c", "missing", "c"], *window)
    assert [(row.doc_id, row.event_time, row.shingles, row.facts) for row in found] == [("c", T0, [3, 1, 2], ["$nvda"])]
    assert stories.story_fingerprints(["c"], T0 + timedelta(minutes=1), window[1]) == []
    assert stories.story_fingerprints([], *window) == []


def test_band_keys_must_come_one_list_per_document(store: Store) -> None:
    with pytest.raises(ValueError, match="2 documents but 1 lists"):
        StoryRepository(store).add_story_keys([fingerprint("a", T0), fingerprint("b", T0)], [[7]])
