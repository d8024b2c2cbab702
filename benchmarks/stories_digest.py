"""A digest of the stories the assigner gives the bench feed: the same digest before and after a change
to the story code means the same stories.

    python benchmarks/stories_digest.py [--docs 3000] [--batch 64]

Generated news items and posts (``finsent.dev.bench.feed``, seed 8, the feed ``pipeline_stages.py``
runs) go through a chdb story index three ways: one worker; two workers taking turns (each finds
the other's documents in the index, not in its own memory); and one worker that keeps no recent
documents. Every way must give each document the same story id, counts and novelty. Prints one
JSON object: the SHA-256 of the ``doc_id story_id similar_12h similar_24h novelty`` lines, how many
documents and stories, and whether the three ways agree.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime

from finsent.dev.bench import feed
from schemas import parse_document
from schemas.stories import StoryFields
from storage import open_store
from storage.stories import StoryRepository
from streams.stories import StoryAssigner, StoryInput


def inputs(docs: int) -> list[StoryInput]:
    start = datetime(2026, 12, 1, tzinfo=UTC)  # a fixed start: the same feed, hence the same digest, every run
    parsed = [parse_document(m.value, m.kind, b"bench") for m in feed(docs, seed=8, start=start)]
    return [StoryInput(d.doc_id, d.event_time, d.headline, d.body, d.tickers) for d in parsed]


def stories(docs: list[StoryInput], batch: int, workers: int, recent_docs: int) -> list[StoryFields]:
    """Each document's story, the batches dealt to ``workers`` assigners in turn on one fresh index."""
    with tempfile.TemporaryDirectory() as data, open_store(f"chdb://{data}/chdb") as store:
        store.init_schema()
        assigners = [StoryAssigner(StoryRepository(store), recent_docs=recent_docs) for _ in range(workers)]
        found: list[StoryFields] = []
        for number, start in enumerate(range(0, len(docs), batch)):
            found += assigners[number % workers].assign(docs[start : start + batch])
        return found


def digest(docs: list[StoryInput], found: list[StoryFields]) -> str:
    pairs = zip(docs, found, strict=True)
    lines = "".join(f"{d.doc_id} {s.story_id} {s.similar_12h} {s.similar_24h} {s.novelty}\n" for d, s in pairs)
    return hashlib.sha256(lines.encode()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=3_000)
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    docs = inputs(args.docs)
    ways: dict[str, Callable[[], list[StoryFields]]] = {
        "one_worker": lambda: stories(docs, args.batch, workers=1, recent_docs=4_096),
        "two_workers": lambda: stories(docs, args.batch, workers=2, recent_docs=4_096),
        "nothing_kept": lambda: stories(docs, args.batch, workers=1, recent_docs=0),
    }
    results = {name: way() for name, way in ways.items()}
    digests = {name: digest(docs, found) for name, found in results.items()}
    found = results["one_worker"]
    print(json.dumps({
        "docs": len(docs), "stories": len({s.story_id for s in found}),
        "copies": sum(s.story_id != d.doc_id for d, s in zip(docs, found, strict=True)),
        "digest": digests["one_worker"], "ways_agree": len(set(digests.values())) == 1, "digests": digests,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
