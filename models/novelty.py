"""Near-duplicate texts: normalised word shingles, MinHash signatures, LSH band keys, similarity.

Pure functions over text and numpy, shared by the stream (``streams.stories``) and the novelty
evaluation (``models.novelty_eval``). A story's text is its headline (news) or its post (social),
so a wire story, its syndicated copies and the tweets of its headline share one story.

- ``normalise``: lower case; URLs, ``RT @user:``, @mentions, leading cashtag lists (``$NVDA - ``),
  wire tags (``(Reuters)``), a trailing `` - Source`` or `` | Source``, trailing hashtags, leading
  ``BREAKING:``-style labels, the word cut by a truncation ellipsis, and punctuation go.
- ``shingles``: the 32-bit hashes (CRC-32) of the word unigrams (stop words left out) and bigrams of
  the normalised text, from its first ``MAX_SHINGLES // 2`` words.
- ``signatures``: MinHash with ``NUM_HASHES`` multiply-add-shift hash functions
  (``(a*x + b) mod 2^64 >> 32`` with random odd ``a``: Dietzfelbinger's 2-universal family) over
  the shingle hashes, vectorised over a batch.
- ``band_keys``: ``BANDS`` keys of ``ROWS_PER_BAND`` signature rows each (LSH); two texts that share
  one key are candidates, confirmed by ``Fingerprint.same_story``: ``similar`` on their exact
  shingle sets, and ``facts_agree`` (no other figure, direction, ticker or subject).
"""

from __future__ import annotations

import hashlib
import itertools
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

NUM_HASHES = 32
ROWS_PER_BAND = 2
BANDS = NUM_HASHES // ROWS_PER_BAND
MAX_SHINGLES = 96
"""A story is told in its first words: longer texts are cut (bounded work per document)."""
STORY_TEXT_CHARS = 400
SUBJECT_WORDS = 3
JACCARD_MIN = 0.5
"""Two texts are one story if their shingle sets overlap this much (Jaccard)…"""
CONTAINMENT_MIN = 0.8
"""…or if this share of the smaller set is in the larger one (a truncated or annotated copy),"""
CONTAINMENT_MIN_SHINGLES = 7
"""…provided the smaller set has at least this many shingles (a few words say too little)."""


def _constants(name: str, count: int, odd: bool = False) -> npt.NDArray[np.uint64]:
    """``count`` fixed 64-bit constants derived from ``name`` by BLAKE2b: every worker, whatever its
    numpy, hashes alike (the keys they share in the index depend on it)."""
    values = [int.from_bytes(hashlib.blake2b(f"finsent-{name}-{i}".encode(), digest_size=8).digest(), "little")
              for i in range(count)]  # fmt: skip
    return np.array([value | 1 if odd else value for value in values], dtype=np.uint64)


_MULTIPLIERS = _constants("minhash-multiplier", NUM_HASHES, odd=True)
_INCREMENTS = _constants("minhash-increment", NUM_HASHES)
_BAND_SALTS = _constants("band-salt", BANDS)
_EMPTY_MIN = np.uint64(2**32)

_URL = re.compile(r"\S*(?:https?:?//|www\.)\S+")
_RETWEET = re.compile(r"^\s*rt\s+@\w+:?\s*")
_MENTION = re.compile(r"(?:\bvia\s+)?@\w+")
# One way to split "$a $b -" into tags and separators, so a long list without a dash cannot backtrack.
_CASHTAG_LIST = re.compile(r"^\s*(?:\$[a-z][a-z0-9.:]{0,9}[\s,]*)+[-:–—|]\s*")
_WIRE_TAG = re.compile(r"\((?:reuters|ap|afp|bloomberg|dow jones|mt newswires|marketwatch|cnbc|upi)\)")
_SOURCE_SUFFIX = re.compile(r"\s+[-|–—]\s+[\w .&']{2,30}$")
_LABEL_PREFIX = re.compile(
    r"^\s*(?:(?:breaking(?: news)?|just in)\s*[:\-–—|]?|(?:updated?|exclusive|watch|alert|urgent|flash)\s*[:\-–—|])\s*"
)
_TRAILING_HASHTAGS = re.compile(r"(?:\s+#\w+)+\s*$")
_TRUNCATED = re.compile(r"\s*\S*(?:…|\.\.\.)\s*$")
_CASHTAG = re.compile(r"\$[a-z][a-z0-9.]{0,9}")


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_UP_WORDS = _word_set(
    "rise rises rising rose up gain gains jump jumps jumped surge surges surged soar soars soared climb "
    "climbs rally rallies higher high beat beats raise raises raised upgrade upgrades upgraded buy boost "
    "boosts strong stronger record positive outperform overweight bullish top tops"
)
_DOWN_WORDS = _word_set(
    "fall falls falling fell down drop drops dropped slip slips slide slides sink sinks sank plunge "
    "plunges tumble tumbles lower low miss misses missed cut cuts downgrade downgrades downgraded sell "
    "weak weaker negative underperform underweight bearish loss losses"
)
_STOPWORDS = _word_set(
    "a an the to of in on at for by with and or as is are was were be been it its this that from after "
    "before over under into than vs via new says said will would could may can has have had not no up"
)
_DIGIT_SEPARATOR = re.compile(r"(?<=\d)[,:.](?=\d)")
_APOSTROPHE = re.compile(r"['’]")
_NOT_WORD = re.compile(r"[^0-9a-z$]+")


def story_text(headline: str, body: str) -> str:
    """The text a document's story is recognised by: its headline, else the start of its body."""
    return (headline.strip() or body.strip())[:STORY_TEXT_CHARS]


def normalise(text: str) -> list[str]:
    """The words of ``text`` with what reposts add or change taken away (see the module doc)."""
    text = text.lower()
    text = _URL.sub(" ", text)
    text = _RETWEET.sub("", text)
    text = _MENTION.sub(" ", text)
    text = _TRAILING_HASHTAGS.sub("", text)
    text = _TRUNCATED.sub("", text) if text.rstrip().endswith(("…", "...")) else text
    text = _CASHTAG_LIST.sub("", _CASHTAG_LIST.sub("", _LABEL_PREFIX.sub("", text)))
    text = _LABEL_PREFIX.sub("", _WIRE_TAG.sub(" ", text))
    text = _APOSTROPHE.sub("", _DIGIT_SEPARATOR.sub("", _SOURCE_SUFFIX.sub("", text)))
    return [word.strip("$") for word in _NOT_WORD.sub(" ", text).split() if word.strip("$")]


def shingles(text: str) -> npt.NDArray[np.uint32]:
    """Sorted, distinct 32-bit hashes of the word unigrams and bigrams of ``normalise(text)``."""
    return _shingles_of(normalise(text))


def _shingles_of(words: list[str]) -> npt.NDArray[np.uint32]:
    words = words[: MAX_SHINGLES // 2]
    # A lone "to" or "the" says nothing of a story, and would make every text a candidate of every other.
    grams = [word for word in words if word not in _STOPWORDS]
    grams += [f"{first} {second}" for first, second in itertools.pairwise(words)]
    hashes = {zlib.crc32(gram.encode()) for gram in grams}
    return np.array(sorted(hashes), dtype=np.uint32)


def signatures(shingle_sets: Sequence[npt.NDArray[np.uint32]]) -> npt.NDArray[np.uint64]:
    """MinHash signatures, one row of ``NUM_HASHES`` per set (an empty set's row is all ``2**32``)."""
    out = np.full((len(shingle_sets), NUM_HASHES), _EMPTY_MIN, dtype=np.uint64)
    sizes = np.array([len(s) for s in shingle_sets], dtype=np.int64)
    if not sizes.sum():
        return out
    flat = np.concatenate([s.astype(np.uint64) for s in shingle_sets])
    with np.errstate(over="ignore"):
        hashed = (flat[:, None] * _MULTIPLIERS[None, :] + _INCREMENTS[None, :]) >> np.uint64(32)
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    present = sizes > 0
    out[present] = np.minimum.reduceat(hashed, starts[present], axis=0)
    return out


def band_keys(signature_rows: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint32]:
    """``BANDS`` 32-bit LSH keys per signature row (the band index is mixed in).

    32 bits keep a batch's keys in one query (ten digits each); a chance collision only adds a
    candidate that the exact check then turns down.
    """
    bands = signature_rows.reshape(len(signature_rows), BANDS, ROWS_PER_BAND)
    with np.errstate(over="ignore"):
        key = _BAND_SALTS[None, :].copy()
        for row in range(ROWS_PER_BAND):
            key = _mix(key ^ bands[:, :, row])
    return (key >> np.uint64(32)).astype(np.uint32)


def _mix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """SplitMix64's finaliser: every input bit affects every output bit."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def similar(first: npt.NDArray[np.uint32], second: npt.NDArray[np.uint32]) -> bool:
    """Whether two shingle sets are one story: Jaccard ≥ ``JACCARD_MIN``, or the smaller (of at least
    ``CONTAINMENT_MIN_SHINGLES``) mostly inside the larger (containment ≥ ``CONTAINMENT_MIN``)."""
    return similar_sets(frozenset(first.tolist()), frozenset(second.tolist()))


def similar_sets(first: frozenset[int], second: frozenset[int]) -> bool:
    """``similar`` on sets (a set intersection is ~1 µs on headline-sized sets)."""
    if not first or not second:
        return False
    shared = len(first & second)
    smaller = min(len(first), len(second))
    if shared >= JACCARD_MIN * (len(first) + len(second) - shared):
        return True
    return smaller >= CONTAINMENT_MIN_SHINGLES and shared >= CONTAINMENT_MIN * smaller


def facts(text: str) -> frozenset[str]:
    """What two tellings of one story must not disagree on: cashtags (``$nvda``), words with digits
    (``#7bn*1``) and words that give a direction (``+rises*1``, ``-falls*1``), counted so that a
    repeated one is a fact per use; and the subject: the first word (``^nvidia``) and the first
    ``SUBJECT_WORDS`` words (``~nvidia``)."""
    return _facts_of(text, normalise(text))


def _facts_of(text: str, words: list[str]) -> frozenset[str]:
    found = {tag.rstrip(".") for tag in _CASHTAG.findall(text.lower())}
    found.update("~" + word for word in words[:SUBJECT_WORDS])
    if words:
        found.add("^" + words[0])
    counts: dict[str, int] = {}
    for word in words:
        if any(char.isdigit() for char in word):
            fact = "#" + word
        elif word in _UP_WORDS or word in _DOWN_WORDS:
            fact = ("+" if word in _UP_WORDS else "-") + word
        else:
            continue
        counts[fact] = counts.get(fact, 0) + 1  # a multiset: "2022 … 2022" is not "2022 … 2023"
        found.add(f"{fact}*{counts[fact]}")
    return frozenset(found)


def facts_agree(first: frozenset[str], second: frozenset[str]) -> bool:
    """False when the texts name different cashtags (and no common one), each has a figure the other
    lacks, one's own words go up where the other's go down, or neither's first word is among the
    other's first words (another subject: "Gartner to report…" is not "Pulmonx to report…")."""
    return _Facts.of(first).agree(_Facts.of(second))


@dataclass(frozen=True)
class _Facts:
    """``facts`` sorted by kind once, so that comparing two is a few set operations."""

    tags: frozenset[str]
    figures: frozenset[str]
    ups: frozenset[str]
    downs: frozenset[str]
    firsts: frozenset[str]
    lead: str | None

    @classmethod
    def of(cls, facts: frozenset[str]) -> _Facts:
        kinds: dict[str, set[str]] = {mark: set() for mark in "$#+-~^"}
        for fact in facts:
            if fact[:1] in kinds:
                kinds[fact[0]].add(fact[1:])
        tags, figures, ups, downs, firsts = (frozenset(kinds[mark]) for mark in "$#+-~")
        return cls(tags, figures, ups, downs, firsts, min(kinds["^"]) if kinds["^"] else None)

    def agree(self, other: _Facts) -> bool:
        # Subset and disjointness tests, not set differences: the same answers without building sets
        # (this runs for every candidate of every document).
        # One's first word among the other's first words or tickers, or no first word: one subject.
        if not (
            self.lead is None
            or self.lead in other.firsts
            or self.lead in other.tags
            or other.lead is None
            or other.lead in self.firsts
            or other.lead in self.tags
        ):
            return False
        if self.tags and other.tags and self.tags.isdisjoint(other.tags):
            return False
        if not self.figures <= other.figures and not other.figures <= self.figures:
            return False
        return not (
            (not self.ups <= other.ups and not other.downs <= self.downs)
            or (not self.downs <= other.downs and not other.ups <= self.ups)
        )


Identity = tuple[frozenset[int], frozenset[str]]
"""A fingerprint's shingle set and facts: all that ``same_story`` reads of it."""


@dataclass(frozen=True, eq=False)
class Fingerprint:
    """What is kept of a text to recognise its story: its shingles and its facts."""

    shingles: npt.NDArray[np.uint32]
    facts: frozenset[str]

    @classmethod
    def of(cls, text: str, symbols: Sequence[str] = ()) -> Fingerprint:
        """``text``'s fingerprint; ``symbols`` the document is about count as its cashtags (``$nvda``),
        so "Nvidia sinks…" and "$NVDA sinks…" share a subject."""
        text = text[:STORY_TEXT_CHARS]  # bounded work, whoever calls
        words = normalise(text)
        tickers = frozenset("$" + symbol.lower() for symbol in symbols if symbol)
        return cls(_shingles_of(words), _facts_of(text, words) | tickers)

    @cached_property
    def shingle_set(self) -> frozenset[int]:
        return frozenset(self.shingles.tolist())

    @cached_property
    def identity(self) -> Identity:
        """What ``same_story`` reads: fingerprints with equal identities get the same verdicts."""
        return self.shingle_set, self.facts

    @cached_property
    def _facts(self) -> _Facts:
        return _Facts.of(self.facts)

    def facts_agree(self, other: Fingerprint) -> bool:
        """``facts_agree`` on the two fingerprints' facts (sorted by kind once per fingerprint)."""
        return self._facts.agree(other._facts)

    def same_story(self, other: Fingerprint) -> bool:
        """``similar`` shingles and ``facts_agree``."""
        # Facts first: a few set lookups, and what tells templated headlines ("X to report Q2…") apart.
        return self._facts.agree(other._facts) and similar_sets(self.shingle_set, other.shingle_set)


def novelty_score(earlier_copies: int) -> int:
    """0–100: 100 for a story's first document, then ×0.75 for each earlier copy in the last 24 h
    (100, 75, 56, 42, 32, …: the decay of RavenPack's Event Novelty Score)."""
    return round(100 * 0.75 ** max(0, earlier_copies))
