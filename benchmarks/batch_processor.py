"""How fast the worker's own per-document work runs, without broker, store or model.

    python benchmarks/batch_processor.py [--docs N] [--runs R]

``BatchProcessor.process`` (parse, validate, dedupe, symbols, rows) over N generated news items
and posts in batches of 1,024, with the null classifier and an empty store; the best of R runs.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time

from finsent.dev.bench import feed, machine
from models.entities import SymbolExtractor
from models.null import NullClassifier
from schemas import DocumentKind
from streams.pipeline import BatchProcessor, IncomingMessage

BATCH = 1_024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    messages = [
        IncomingMessage(m.value, "bench", 0, offset, DocumentKind(m.kind))
        for offset, m in enumerate(feed(args.docs, seed=7))
    ]
    processor = BatchProcessor(NullClassifier(), lambda ids: {}, SymbolExtractor.default(), b"bench")
    best = float("inf")
    for _ in range(args.runs):
        started = time.perf_counter()
        for start in range(0, len(messages), BATCH):
            processor.process(messages[start : start + BATCH])
        best = min(best, time.perf_counter() - started)
    print(json.dumps({"docs": len(messages), "docs_per_s": round(len(messages) / best, 1), "machine": machine()}))


if __name__ == "__main__":
    main()
