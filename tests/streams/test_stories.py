"""Stories across workers: copies of one story on different partitions get one story id, a copy
after the window starts a new story, and novelty falls with each earlier copy (a chdb store)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from models import NullClassifier
from models.novelty import Fingerprint, story_text
from schemas import DocumentKind
from schemas.stories import StoryDocRow
from storage import Store, open_store
from storage.stories import StoryRepository
from streams.pipeline import BatchProcessor, IncomingMessage
from streams.stories import StoryAssigner, StoryInput, _Checks, _keys_of, _Known

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
HEADLINE = "Nvidia sinks as major customer cancels contract"
COPIES = [
    HEADLINE,
    f"$NVDA - {HEADLINE}",
    f"{HEADLINE} (Reuters)",
    f"RT @wire: {HEADLINE.upper()} https://t.co/abc",
    f"{HEADLINE} #stocks",
    f"BREAKING: {HEADLINE}",
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"chdb://{tmp_path / 'chdb'}")
    try:
        opened.init_schema()
        yield opened
    finally:
        opened.close()


def copy(n: int, seconds: float, text: str | None = None) -> StoryInput:
    return StoryInput(f"doc{n}", T0 + timedelta(seconds=seconds), text or COPIES[n % len(COPIES)], "")


def test_two_workers_storing_copies_at_the_same_moment_agree_on_the_first(store: Store) -> None:
    """Worker A has partition 0 (copies 0, 2), B partition 1 (copies 1, 3); both write, then both read."""
    workers = [StoryAssigner(StoryRepository(store)), StoryAssigner(StoryRepository(store))]
    batches = [[copy(0, 0), copy(2, 20)], [copy(1, 10), copy(3, 30)]]
    prepared = []
    for worker, batch in zip(workers, batches, strict=True):
        prints = [Fingerprint.of(story_text(doc.headline, doc.body)) for doc in batch]
        keys = _keys_of(prints)
        worker.register(batch, prints, keys)
        prepared.append((batch, prints, keys))
    stories = [worker.resolve(*args) for worker, args in zip(workers, prepared, strict=True)]
    assert {story.story_id for found in stories for story in found} == {"doc0"}
    # Later copies on either partition, read by either worker, name the same first document.
    later = [workers[1].assign([copy(4, 40)]), workers[0].assign([copy(5, 50)])]
    assert [found[0].story_id for found in later] == ["doc0", "doc0"]


def test_novelty_is_100_for_the_first_copy_and_falls_with_each_earlier_one(store: Store) -> None:
    stories = StoryAssigner(StoryRepository(store))
    found = stories.assign([copy(n, 60 * n) for n in range(3)])
    assert [(s.story_id, s.similar_24h, s.novelty) for s in found] == [
        ("doc0", 0, 100),
        ("doc0", 1, 75),
        ("doc0", 2, 56),
    ]
    other = stories.assign([StoryInput("apple", T0, "Apple unveils a new iPhone at its September event", "")])
    assert (other[0].story_id, other[0].novelty) == ("apple", 100)


def test_the_12_hour_count_leaves_out_copies_older_than_12_hours(store: Store) -> None:
    stories = StoryAssigner(StoryRepository(store))
    stories.assign([copy(0, 0)])
    later = stories.assign([copy(1, 13 * 3600)])[0]
    assert (later.story_id, later.similar_12h, later.similar_24h) == ("doc0", 0, 1)


def test_a_copy_after_the_window_starts_a_new_story(store: Store) -> None:
    stories = StoryAssigner(StoryRepository(store))
    stories.assign([copy(0, 0)])
    late = stories.assign([copy(1, 25 * 3600)])[0]
    assert (late.story_id, late.novelty) == ("doc1", 100)
    within = stories.assign([copy(2, 23 * 3600)])[0]
    assert within.story_id == "doc0"


def test_the_pipeline_stores_story_fields_and_sends_novelty(store: Store) -> None:
    """Two processors (two workers' pipelines) on one store, copies on two partitions."""

    def social(n: int, text: str, partition: int) -> IncomingMessage:
        at = (T0 + timedelta(seconds=n)).isoformat()
        payload = {"id": f"p{n}", "platform": "x", "author": f"@a{n}", "created_at": at, "text": text}
        return IncomingMessage(orjson.dumps(payload), "finsent.social", partition, n, DocumentKind.SOCIAL)

    def worker() -> BatchProcessor:
        return BatchProcessor(
            NullClassifier(), store.existing_documents, stories=StoryAssigner(StoryRepository(store)),
            clock=lambda: T0 + timedelta(minutes=5),
        )  # fmt: skip

    a, b = worker(), worker()
    results = [a.process([social(0, COPIES[0], 0)]), b.process([social(1, COPIES[1], 1)])]
    results.append(a.process([social(2, COPIES[2], 0)]))
    rows = {row.doc_id: row for result in results for row in result.documents}
    assert {row.story_id for row in rows.values()} == {"social:x:p0"}
    assert [rows[f"social:x:p{n}"].novelty for n in range(3)] == [100, 75, 56]
    scores = [s for result in results for s in result.scores if s.symbol == "NVDA"]
    assert sorted(s.novelty for s in scores) == [56, 75, 100]
    assert {s.story_id for s in scores} == {"social:x:p0"}


class _MeetingClassifier(NullClassifier):
    """Scores a batch only once the story index is being asked about it, and the other way round:
    stages run one after the other would wait for each other until the barrier breaks."""

    def __init__(self, meeting: threading.Barrier) -> None:
        super().__init__()
        self.meeting = meeting

    def predict(self, texts: Sequence[str], *args: Any, **kwargs: Any) -> Any:
        self.meeting.wait()
        return super().predict(texts, *args, **kwargs)


class _MeetingIndex(StoryRepository):
    def __init__(self, store: Store, meeting: threading.Barrier) -> None:
        super().__init__(store)
        self.meeting = meeting

    def story_candidate_ids(self, keys: Sequence[int], since: datetime, until: datetime) -> list[str]:
        self.meeting.wait()
        return super().story_candidate_ids(keys, since, until)


def test_stories_are_assigned_while_the_model_reads_the_batch(store: Store) -> None:
    meeting = threading.Barrier(2, timeout=10)
    processor = BatchProcessor(
        _MeetingClassifier(meeting), store.existing_documents, stories=StoryAssigner(_MeetingIndex(store, meeting)),
        clock=lambda: T0 + timedelta(minutes=5),
    )  # fmt: skip
    post = {"id": "p1", "platform": "x", "author": "@a", "created_at": T0.isoformat(), "text": COPIES[0]}
    message = IncomingMessage(orjson.dumps(post), "finsent.social", 0, 1, DocumentKind.SOCIAL)
    result = processor.process([message])
    assert [row.story_id for row in result.documents] == ["social:x:p1"] and not result.dead_letters


def test_words_two_candidates_share_are_not_the_documents() -> None:
    """A candidate is alike by its own shared words only, not by words it shares with another
    candidate (numpy's ``isin(assume_unique=True)`` over the candidates together counted those)."""
    doc = StoryInput("news:w:doc", T0, "a headline", "")
    own = Fingerprint(np.arange(30, dtype=np.uint32) * 100_000_000, frozenset())
    # Half of ``first``'s words are the document's: a Jaccard of 1/3, alike only if ``second``'s words counted.
    common = np.arange(15, dtype=np.uint32) * 100_000_000 + 7
    first = Fingerprint(np.sort(np.concatenate([own.shingles[:15], common])), frozenset())
    second = Fingerprint(np.sort(np.concatenate([common, common + 1])), frozenset())
    candidates = [
        _Known.of("news:w:b", T0 - timedelta(hours=2), second),
        _Known.of("news:w:a", T0 - timedelta(hours=1), first),
    ]
    assert _Checks(candidates).story_of(doc, own, [0, 1]).story_id == doc.doc_id


def test_only_candidates_of_the_documents_day_before_it_are_its_copies() -> None:
    """The window is a slice of the time-ordered candidates: one a second too old, the document
    itself (and its id stored at another time), one at its second with a later id and one after
    it are left out."""
    doc = StoryInput("news:w:m", T0, HEADLINE, "")
    own = Fingerprint.of(HEADLINE)
    at = [
        ("news:w:old", T0 - timedelta(hours=24, seconds=1)),
        ("news:w:day", T0 - timedelta(hours=24)),
        ("news:w:m", T0 - timedelta(hours=2)),
        ("news:w:hour", T0 - timedelta(hours=1)),
        ("news:w:a", T0),
        ("news:w:m", T0),
        ("news:w:z", T0),
        ("news:w:next", T0 + timedelta(seconds=1)),
    ]
    candidates = sorted((_Known.of(doc_id, when, own) for doc_id, when in at), key=lambda k: k.order)
    found = _Checks(candidates).story_of(doc, own, list(range(len(candidates))))
    assert (found.story_id, found.similar_24h, found.similar_12h) == ("news:w:day", 3, 2)


@pytest.mark.parametrize("recent_docs", [0, 2])
def test_remembered_candidates_give_the_stories_rebuilt_ones_give(store: Store, recent_docs: int) -> None:
    """A worker keeps its latest documents ready as candidates: with none, some or all of them kept, the
    stories are the same (the index still decides which documents are candidates)."""
    other = "Apple unveils a new iPhone at its September event"
    batches = [[copy(0, 0), copy(1, 10)], [copy(2, 20, other), copy(3, 30)], [copy(4, 40), copy(5, 50, other)]]

    def stories_with(kept: int) -> list[tuple[str, int, int]]:
        store.drop_all()
        store.init_schema()
        assigner = StoryAssigner(StoryRepository(store), recent_docs=kept)
        return [(s.story_id, s.similar_24h, s.novelty) for batch in batches for s in assigner.assign(batch)]

    everything_kept = stories_with(100)
    assert [story for story, _, _ in everything_kept] == ["doc0", "doc0", "doc2", "doc0", "doc0", "doc2"]
    assert stories_with(recent_docs) == everything_kept


class CountingIndex(StoryRepository):
    """The index, counting the fingerprints fetched."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.fetched: list[str] = []

    def story_fingerprints(self, doc_ids: Sequence[str], since: datetime, until: datetime) -> list[StoryDocRow]:
        self.fetched += doc_ids
        return super().story_fingerprints(doc_ids, since, until)


def test_a_worker_fetches_only_fingerprints_it_does_not_hold_and_keeps_them(store: Store) -> None:
    first, second = CountingIndex(store), CountingIndex(store)
    a, b = StoryAssigner(first), StoryAssigner(second)
    assert [s.story_id for s in a.assign([copy(0, 0), copy(1, 10)])] == ["doc0", "doc0"]
    assert [s.story_id for s in a.assign([copy(2, 20)])] == ["doc0"]
    assert first.fetched == []  # its own documents: the index names them, the worker holds them
    assert [s.story_id for s in b.assign([copy(3, 30)])] == ["doc0"]
    assert sorted(second.fetched) == ["doc0", "doc1", "doc2"]  # another worker's: fetched once…
    assert [s.story_id for s in b.assign([copy(4, 40)])] == ["doc0"]
    assert len(second.fetched) == 3  # …then held
