"""What story assignment costs a batch: fingerprints and band keys, then the index write and lookup.

    python benchmarks/stories.py [--docs N] [--indexed M] [--runs R]

Generated news items and posts (``finsent.dev.bench.feed``) in batches of 1,024, against a chdb
story index already holding M documents of the same feed; the best of R runs. Prints one JSON
object with milliseconds per 1,000 documents for the hashing alone and for the whole assignment
(wall clock, and this process's CPU time, which a busy machine disturbs less).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime

from finsent.dev.bench import feed, machine
from models.novelty import Fingerprint, story_text
from schemas import parse_document
from storage import open_store
from storage.stories import StoryRepository
from streams.stories import StoryAssigner, StoryInput, _keys_of

BATCH = 1_024


def inputs(docs: int, seed: int, tag: str) -> list[StoryInput]:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    parsed = [parse_document(m.value, m.kind, b"bench") for m in feed(docs, seed=seed, start=start)]
    return [StoryInput(f"{tag}{d.doc_id}", d.event_time, d.headline, d.body, d.tickers) for d in parsed]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=5_000)
    parser.add_argument("--indexed", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data, open_store(f"chdb://{data}/chdb") as store:
        store.init_schema()
        assigner = StoryAssigner(StoryRepository(store))
        indexed = inputs(args.indexed, seed=3, tag="old-")
        for start in range(0, len(indexed), BATCH):
            assigner.assign(indexed[start : start + BATCH])
        best_hash = best_all = best_cpu = float("inf")
        for run in range(args.runs):
            docs = inputs(args.docs, seed=7, tag=f"run{run}-")
            batches = [docs[start : start + BATCH] for start in range(0, len(docs), BATCH)]
            started = time.perf_counter()
            for batch in batches:
                _keys_of([Fingerprint.of(story_text(d.headline, d.body), d.symbols) for d in batch])
            best_hash = min(best_hash, time.perf_counter() - started)
            started, cpu = time.perf_counter(), time.process_time()
            for batch in batches:
                assigner.assign(batch)
            best_all = min(best_all, time.perf_counter() - started)
            best_cpu = min(best_cpu, time.process_time() - cpu)
    per_thousand = 1_000 / args.docs * 1_000
    print(json.dumps({
        "docs": args.docs, "indexed": args.indexed, "batch": BATCH,
        "hashing_ms_per_1000": round(best_hash * per_thousand, 1),
        "assign_ms_per_1000": round(best_all * per_thousand, 1),
        "assign_cpu_ms_per_1000": round(best_cpu * per_thousand, 1),
        "machine": machine(),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
