"""Which story each document of a batch belongs to, through the story index every worker shares.

A document's story is the earliest — by ``(event_time, doc_id)`` — of the stored documents of the
last ``STORY_WINDOW`` that are like it (``models.novelty``), or itself if none is. That depends only
on which documents exist, not on which worker saw which, so copies on different partitions agree.
Keys are written before the lookup: of two workers storing copies of a new story at once, at least
the one that reads later sees the other's copy, and both then name the earlier one.
"""

from __future__ import annotations

import logging
from bisect import bisect_left
from collections import OrderedDict, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np

from models.novelty import Fingerprint, Identity, band_keys, novelty_score, signatures, story_text
from schemas.stories import StoryDocRow, StoryFields
from storage.values import epoch_seconds

log = logging.getLogger(__name__)

STORY_WINDOW = timedelta(hours=24)
"""How far back a copy finds its story; a copy after that starts a new one."""
SHORT_WINDOW = timedelta(hours=12)
_STORY_WINDOW_S, _SHORT_WINDOW_S = int(STORY_WINDOW.total_seconds()), int(SHORT_WINDOW.total_seconds())
EXPIRE_EVERY = timedelta(hours=1)
CHECKS_PER_DOC = 100
"""Candidates confirmed per document at most, earliest first (bounded work: counts saturate there)."""
KEEP_PARTITIONS = STORY_WINDOW + timedelta(days=1)
"""Daily partitions are dropped once wholly older than this (a day's slack for late documents)."""
RECENT_DOCS = 4_096
"""The latest documents this worker stored or fetched, kept ready as candidates (about 18 MB): most
candidates are recent copies, and fetching and rebuilding one from its stored row (band keys, word
set, facts by kind) costs more than finding it. Only ids the index returns are looked up here: what
a candidate is stays the index's."""


class StoryIndex(Protocol):
    """Where the keys live (``storage.stories.StoryRepository``)."""

    def add_story_keys(self, docs: Sequence[StoryDocRow], keys: Sequence[Sequence[int]]) -> None: ...

    def story_candidate_ids(self, keys: Sequence[int], since: datetime, until: datetime) -> list[str]: ...

    def story_fingerprints(self, doc_ids: Sequence[str], since: datetime, until: datetime) -> list[StoryDocRow]: ...

    def expire_stories(self, now: datetime, keep: timedelta) -> int: ...


@dataclass(frozen=True)
class StoryInput:
    """What the assigner needs of a document."""

    doc_id: str
    event_time: datetime
    headline: str
    body: str
    symbols: Sequence[str] = ()


@dataclass(frozen=True, eq=False)
class _Known:
    order: tuple[int, str]
    """``(event time in Unix seconds, doc_id)``: a story's first document has the least."""
    fingerprint: Fingerprint

    @classmethod
    def of(cls, doc_id: str, event_time: datetime, fingerprint: Fingerprint) -> _Known:
        return cls((epoch_seconds(event_time), doc_id), fingerprint)

    @property
    def doc_id(self) -> str:
        return self.order[1]


_Candidate = tuple[_Known, list[int]]
"""A known document and its band keys."""


class StoryAssigner:
    """Gives each document of a batch its ``StoryFields``: per batch one write, one lookup of candidate
    ids, and a fetch of the fingerprints of only the candidates it does not hold (usually none)."""

    def __init__(self, index: StoryIndex, recent_docs: int = RECENT_DOCS) -> None:
        self._index = index
        self._expired_at: datetime | None = None
        self._recent: OrderedDict[str, _Candidate] = OrderedDict()
        self._recent_docs = recent_docs

    def assign(self, docs: Sequence[StoryInput]) -> list[StoryFields]:
        """The story of each of ``docs``, in order (see the module doc)."""
        if not docs:
            return []
        prints = [Fingerprint.of(story_text(doc.headline, doc.body), doc.symbols) for doc in docs]
        keys = _keys_of(prints)
        self.register(docs, prints, keys)
        return self.resolve(docs, prints, keys)

    def register(self, docs: Sequence[StoryInput], prints: Sequence[Fingerprint], keys: np.ndarray) -> None:
        """Write the documents' keys and fingerprints (documents with no words are stories of one)."""
        doc_rows, doc_keys = [], []
        for doc, fingerprint, own_keys in zip(docs, prints, keys.tolist(), strict=True):
            if len(fingerprint.shingles):
                at = doc.event_time.replace(microsecond=0)
                doc_rows.append(_doc_row(doc.doc_id, at, fingerprint))
                doc_keys.append(own_keys)
                self._remember(_Known.of(doc.doc_id, at, fingerprint), own_keys)
        self._index.add_story_keys(doc_rows, doc_keys)
        if doc_rows:
            self._expire(max(row.event_time for row in doc_rows))

    def _remember(self, known: _Known, keys: list[int]) -> None:
        self._recent[known.doc_id] = (known, keys)
        self._recent.move_to_end(known.doc_id)
        if len(self._recent) > self._recent_docs:
            self._recent.popitem(last=False)

    def resolve(self, docs: Sequence[StoryInput], prints: Sequence[Fingerprint], keys: np.ndarray) -> list[StoryFields]:
        """Each document's story from one lookup of every key of the batch."""
        worded = [i for i, fingerprint in enumerate(prints) if len(fingerprint.shingles)]
        if not worded:
            return [StoryFields.first(doc.doc_id) for doc in docs]
        times = [docs[i].event_time.replace(microsecond=0) for i in worded]
        since, until = min(times) - STORY_WINDOW, max(times)
        wanted = {int(key) for i in worded for key in keys[i]}
        ids = self._index.story_candidate_ids(sorted(wanted), since, until)
        known, by_key = _candidates_by_key(self._candidates(ids, since, until), wanted)
        batch = _Checks(known)
        out = []
        for doc, fingerprint, doc_keys in zip(docs, prints, keys.tolist(), strict=True):
            positions = sorted(set().union(*(by_key.get(key, ()) for key in doc_keys)))[:CHECKS_PER_DOC]
            out.append(batch.story_of(doc, fingerprint, positions))
        return out

    def _candidates(self, ids: Sequence[str], since: datetime, until: datetime) -> list[_Candidate]:
        """The documents ``ids`` names, with their band keys: this worker's recent ones as they are, the
        others rebuilt from the fingerprints the index holds (and remembered: the next batch's copies of
        another worker's story will likely name them again)."""
        found = {doc_id: self._recent[doc_id] for doc_id in ids if doc_id in self._recent}
        missing = [doc_id for doc_id in ids if doc_id not in found]
        if missing:
            rows = self._index.story_fingerprints(missing, since, until)
            rebuilt = [_Known.of(row.doc_id, row.event_time, _fingerprint(row)) for row in rows]
            for known, known_keys in zip(rebuilt, _keys_of([k.fingerprint for k in rebuilt]).tolist(), strict=True):
                found[known.doc_id] = (known, known_keys)
                self._remember(known, known_keys)
        return list(found.values())

    def _expire(self, newest: datetime) -> None:
        """Drop old days, at most every ``EXPIRE_EVERY`` of event time. Event time, not the clock: a
        replay of last month's feed still finds its stories."""
        if self._expired_at is None or newest - self._expired_at >= EXPIRE_EVERY:
            self._expired_at = newest
            dropped = self._index.expire_stories(newest, KEEP_PARTITIONS)
            if dropped:
                log.info("story index: dropped %d expired daily partitions", dropped)


def _keys_of(prints: Sequence[Fingerprint]) -> np.ndarray:
    """Band keys, one row per fingerprint."""
    return band_keys(signatures([p.shingles for p in prints]))


def _doc_row(doc_id: str, at: datetime, fingerprint: Fingerprint) -> StoryDocRow:
    return StoryDocRow.model_construct(
        doc_id=doc_id, event_time=at, shingles=fingerprint.shingles.tolist(), facts=sorted(fingerprint.facts)
    )


def _candidates_by_key(candidates: Sequence[_Candidate], wanted: set[int]) -> tuple[list[_Known], dict[int, list[int]]]:
    """The candidates, earliest first by ``(event_time, doc_id)``, and under each of their band keys
    among ``wanted`` (the batch's: no other is looked up) their positions in that list."""
    ordered = sorted(candidates, key=lambda pair: pair[0].order)
    by_key: dict[int, list[int]] = defaultdict(list)
    for position, (_, keys) in enumerate(ordered):
        for key in wanted.intersection(keys):
            by_key[key].append(position)
    return [known for known, _ in ordered], by_key


def _fingerprint(row: StoryDocRow) -> Fingerprint:
    return Fingerprint(np.array(row.shingles, dtype=np.uint32), frozenset(row.facts))


class _Checks:
    """Which of a batch's candidates each document repeats: ``same_story`` once per distinct pair of
    texts in the batch (retweets and templated copies normalise alike, and a story's copies are most
    of its later copies' candidates). Set intersections, not numpy: a document has a few dozen
    candidates at most, too few for numpy to pay off."""

    def __init__(self, known: Sequence[_Known]) -> None:
        """``known``: the batch's candidates in ``(event_time, doc_id)`` order."""
        self._known = known
        self._orders = [candidate.order for candidate in known]
        self._numbers: dict[Identity, int] = {}
        self._texts = [self._number(candidate.fingerprint) for candidate in known]
        self._verdicts: dict[int, bool] = {}

    def _number(self, fingerprint: Fingerprint) -> int:
        """One small number per distinct identity: a pair of them is a cheap key."""
        return self._numbers.setdefault(fingerprint.identity, len(self._numbers))

    def story_of(self, doc: StoryInput, fingerprint: Fingerprint, positions: Sequence[int]) -> StoryFields:
        """``doc``'s story among the candidates at ``positions`` (ascending, so earliest first)."""
        own = (epoch_seconds(doc.event_time), doc.doc_id)
        orders, known, verdicts = self._orders, self._known, self._verdicts
        # The candidates of the document's window, earlier than it and within a day, are a slice.
        start = bisect_left(positions, bisect_left(orders, (own[0] - _STORY_WINDOW_S,)))
        stop = bisect_left(positions, bisect_left(orders, own))
        pairs = self._number(fingerprint) * _PAIRS
        earlier = []
        for position in positions[start:stop]:
            if orders[position][1] == own[1]:  # its own id, stored at another time
                continue
            pair = pairs + self._texts[position]
            verdict = verdicts.get(pair)
            if verdict is None:
                verdict = verdicts[pair] = fingerprint.same_story(known[position].fingerprint)
            if verdict:
                earlier.append(position)
        if not earlier:
            return StoryFields.first(doc.doc_id)
        recent = sum(orders[position][0] >= own[0] - _SHORT_WINDOW_S for position in earlier)
        return StoryFields(
            story_id=orders[earlier[0]][1],
            similar_12h=recent,
            similar_24h=len(earlier),
            novelty=novelty_score(len(earlier)),
        )


_PAIRS = 1 << 32
"""A pair of text numbers is one int, ``first * _PAIRS + second``: a batch never holds 2**32 texts."""
