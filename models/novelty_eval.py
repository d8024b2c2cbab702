"""Pair precision and recall of story matching (``models.novelty``) on a labelled pair set built from real texts.

Positives: a real text and a copy made by 1–3 repost transformations (``TRANSFORMS``), the way
wires, aggregators and accounts repeat a story. Negatives: two different texts of the corpus,
drawn three ways: the text sharing the most words with it (``overlap``), a text naming the same
cashtag (``same_company``) and a random one. A pair counts as matched the way the stream matches
it: the two share an LSH band key and ``similar`` confirms it.
"""

from __future__ import annotations

import csv
import itertools
import random
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.corpora import NEWS_HEADLINES, TOPIC_DIR, Corpora
from models.novelty import (
    BANDS,
    CONTAINMENT_MIN,
    CONTAINMENT_MIN_SHINGLES,
    JACCARD_MIN,
    NUM_HASHES,
    ROWS_PER_BAND,
    Fingerprint,
    band_keys,
    normalise,
    signatures,
)
from schemas.reposts import CASHTAG, TRANSFORMS, URL

SEED = 2026
NEAR_MISSES = 8
_FLIPS = {"rises": "falls", "falls": "rises", "up": "down", "down": "up", "beats": "misses", "misses": "beats",
          "raises": "cuts", "cuts": "raises", "upgrades": "downgrades", "downgrades": "upgrades", "gains": "losses",
          "higher": "lower", "lower": "higher", "jumps": "slips", "slips": "jumps"}  # fmt: skip
_DIGITS = re.compile(r"(?<![\w@/.,:])\d+(?![\w/.,:]\d)")


def _change_number(text: str, rng: random.Random) -> str | None:
    numbers = [m for m in _DIGITS.finditer(URL.sub("", text))]
    if not numbers:
        return None
    at = rng.choice(numbers)
    plain = URL.sub("", text)
    changed = str(int(at.group()) + rng.randint(1, 9))
    return plain[: at.start()] + changed + plain[at.end() :]


def _flip_direction(text: str, rng: random.Random) -> str | None:
    words = text.split()
    spots = [i for i, word in enumerate(words) if word.lower() in _FLIPS]
    if not spots:
        return None
    at = rng.choice(spots)
    words[at] = _FLIPS[words[at].lower()]
    return " ".join(words)


def _swap_cashtag(text: str, rng: random.Random) -> str | None:
    tags = CASHTAG.findall(text)
    if len(tags) != 1:
        return None
    other = rng.choice([t for t in ["$NVDA", "$AAPL", "$AMD", "$INTC", "$MSFT"] if t != tags[0].upper()])
    return text.replace(tags[0], other)


def _swap_subject(text: str, rng: random.Random) -> str | None:
    words = text.split()
    if not words or not words[0][0].isalpha() or words[0].endswith(":") or words[0].isupper():
        return None
    words[0] = rng.choice([c for c in ["Pulmonx", "Gartner", "Boeing", "Pfizer", "Ford", "Deluxe"] if c != words[0]])
    return " ".join(words)


FACT_EDITS: dict[str, Callable[[str, random.Random], str | None]] = {
    "change_number": _change_number, "flip_direction": _flip_direction, "swap_cashtag": _swap_cashtag,
    "swap_subject": _swap_subject,
}  # fmt: skip
"""Developer-written negatives: the same words telling another story (another figure, direction or company)."""


def read_texts(path: Path) -> list[str]:
    """The ``text`` column of a corpus CSV, distinct after normalisation (the corpus repeats some stories)."""
    with path.open(newline="", encoding="utf-8") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    seen: set[tuple[str, ...]] = set()
    distinct = []
    for text in texts:
        words = tuple(normalise(text))
        if len(words) >= 3 and words not in seen:
            seen.add(words)
            distinct.append(text)
    return distinct


def labelled_pairs(texts: Sequence[str], rng: random.Random, positives: int) -> list[tuple[str, str, str]]:
    """``(kind, first, second)``: kind is ``copy:<transforms>`` (a positive) or a negative's kind.

    ``positives`` copies, and as many negatives of each kind as there are texts to make them from,
    at most ``positives // 2`` of a kind (so the harder kinds weigh as much as the random pairs).
    """
    pairs: list[tuple[str, str, str]] = []
    for text in rng.sample(list(texts), min(positives, len(texts))):
        names = rng.sample(sorted(TRANSFORMS), rng.randint(1, 3))
        copy = text
        for name in names:
            copy = TRANSFORMS[name](copy, rng)
        pairs.append(("copy:" + "+".join(names), text, copy))
    cap = positives // 2
    for name, edit in FACT_EDITS.items():
        edits = [(name, text, edited) for text in texts if (edited := edit(text, rng)) not in (None, text)]
        pairs += rng.sample(edits, min(cap, len(edits)))
    by_tag: dict[str, list[str]] = defaultdict(list)
    for text in texts:
        for tag in set(CASHTAG.findall(text.upper())):
            by_tag[tag].append(text)
    same = [("same_company", a, b) for group in by_tag.values() for a, b in itertools.pairwise(group)]
    pairs += rng.sample(same, min(cap, len(same)))
    for _ in range(cap):
        first, second = rng.sample(list(texts), 2)
        pairs.append(("random", first, second))
    return pairs


def _overlap_negatives(texts: Sequence[str]) -> list[tuple[str, str, str]]:
    """Each text with the other text sharing the most normalised words with it."""
    words = [set(normalise(text)) for text in texts]
    index: dict[str, list[int]] = defaultdict(list)
    for i, bag in enumerate(words):
        for word in bag:
            index[word].append(i)
    pairs = []
    for i, bag in enumerate(words):
        shared: dict[int, int] = defaultdict(int)
        for word in bag:
            if len(index[word]) <= 200:  # skip "the", "to": they say nothing of a story
                for j in index[word]:
                    if j != i:
                        shared[j] += 1
        if shared:
            best = max(shared, key=lambda j: (shared[j], -j))
            pairs.append(("overlap", texts[i], texts[best]))
    return pairs


def matched(first: str, second: str) -> bool:
    """What the stream decides for two texts: a shared band key, confirmed by ``Fingerprint.same_story``."""
    prints = [Fingerprint.of(first), Fingerprint.of(second)]
    keys = band_keys(signatures([p.shingles for p in prints]))
    return bool(np.intersect1d(keys[0], keys[1]).size) and prints[0].same_story(prints[1])


def score_pairs(pairs: Sequence[tuple[str, str, str]]) -> dict[str, Any]:
    """Precision, recall, counts per kind and the near misses (false merges and missed copies)."""
    tp = fp = fn = 0
    per_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    false_merges, missed = [], []
    for kind, first, second in pairs:
        found = matched(first, second)
        positive = kind.startswith("copy:")
        group = "copies" if positive else kind
        per_kind[group][0] += 1
        per_kind[group][1] += found
        if positive and found:
            tp += 1
        elif positive:
            fn += 1
            missed.append({"transforms": kind[5:], "text": first, "copy": second})
        elif found:
            fp += 1
            false_merges.append({"kind": kind, "first": first, "second": second})
    return {
        "pairs": len(pairs),
        "precision": round(tp / (tp + fp), 4) if tp + fp else None,
        "recall": round(tp / (tp + fn), 4) if tp + fn else None,
        "false_merges": fp,
        "missed_copies": fn,
        "matched_by_kind": {kind: {"pairs": n, "matched": m} for kind, (n, m) in sorted(per_kind.items())},
        "near_misses": {"false_merges": false_merges[:NEAR_MISSES], "missed_copies": missed[:NEAR_MISSES]},
    }


def evaluate_novelty(data: Corpora, positives: int = 2_000, seed: int = SEED) -> dict[str, Any]:
    """The report of ``finsent eval --task novelty``: one block per corpus, and the settings used."""
    sets = {
        "tweets_validation": data.file(Path(TOPIC_DIR) / "validation.csv"),
        "news_headlines": data.file(NEWS_HEADLINES),
    }
    report: dict[str, Any] = {"task": "novelty", "seed": seed}
    for name, path in sets.items():
        texts = read_texts(path)
        report[name] = {"texts": len(texts), **score_pairs(labelled_pairs(texts, random.Random(seed), positives))}
    report["settings"] = {
        "num_hashes": NUM_HASHES, "bands": BANDS, "rows_per_band": ROWS_PER_BAND, "jaccard_min": JACCARD_MIN,
        "containment_min": CONTAINMENT_MIN, "containment_min_shingles": CONTAINMENT_MIN_SHINGLES,
        "transforms": sorted(TRANSFORMS),
    }  # fmt: skip
    return report
