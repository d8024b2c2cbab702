"""``GET /v1/sentiment`` latency over 30 days of 1-minute data for one symbol, with 10M score rows stored (chdb).

    python benchmarks/api_sentiment.py [--rows 10000000] [--requests 200] [--count stories --count documents]

Fills a fresh chdb store with ``--rows`` generated documents over 30 days (one row each in
``documents`` and ``scores``; the per-minute rollups fill through their materialized views),
a tenth of them about the measured symbol, each a story of its own (the most story rows a symbol can
have). Then it times ``--requests`` calls through the FastAPI app (in process) for each ``--count``
(stories, the API's default, and documents unless given), alternating intervals 1m, 5m, 1h, 1d and
ranges of 1 to 30 days. Prints one JSON object: p50 and p95 for each count, and p95 per shape.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from api.app import ClassifierSource, create_app
from api.keys import KeyRing
from config import Settings
from storage import open_store
from storage.queries import COUNTS
from storage.synthetic import SYMBOL, fill_synthetic_history

SHAPES = [("1m", 1), ("5m", 7), ("1h", 30), ("1d", 30), ("1m", 30)]
"""(interval, days) of the calls, in turn."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--count", action="append", choices=COUNTS, help="repeatable")
    args = parser.parse_args()
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    start = end - timedelta(days=30)
    with tempfile.TemporaryDirectory(prefix="finsent-api-bench-") as data_dir:
        store = open_store(f"chdb://{data_dir}/chdb")
        store.init_schema()
        fill_s = fill_synthetic_history(store, args.rows, int(start.timestamp()), 30 * 86_400)
        stored = store.count_score_rows(final=False)
        _, token = KeyRing(store).create("bench", "read")
        settings = Settings(_env_file=None, data_dir=data_dir, api_rate_limit_per_min=10**9)  # type: ignore[call-arg]
        client = TestClient(create_app(settings.api, store, ClassifierSource(lambda: None)))  # type: ignore[arg-type,return-value]
        headers = {"Authorization": f"Bearer {token}"}
        by_count = {count: _timed(client, headers, count, end, args.requests) for count in args.count or COUNTS}
        store.close()
    print(json.dumps({"score_rows": stored, "fill_s": round(fill_s, 1), "by_count": by_count}))


def _timed(client: TestClient, headers: dict[str, str], count: str, end: datetime, requests: int) -> dict[str, Any]:
    """p50 / p95 of ``requests`` calls counting ``count`` over the shapes in turn (one round first, to warm)."""
    timings: dict[str, list[float]] = {f"{i}/{d}d": [] for i, d in SHAPES}
    for n in range(requests + len(SHAPES)):
        interval, days = SHAPES[n % len(SHAPES)]
        params = {"symbol": SYMBOL, "interval": interval, "from": (end - timedelta(days=days)).isoformat(),
                  "to": end.isoformat(), "count": count}  # fmt: skip
        began = time.perf_counter()
        client.get("/v1/sentiment", params=params, headers=headers).raise_for_status()
        if n >= len(SHAPES):
            timings[f"{interval}/{days}d"].append((time.perf_counter() - began) * 1000)
    every = sorted(t for values in timings.values() for t in values)
    return {
        "requests": len(every),
        "p50_ms": round(statistics.median(every), 1),
        "p95_ms": round(_p95(every), 1),
        "by_shape_p95_ms": {shape: round(_p95(sorted(values)), 1) for shape, values in timings.items()},
    }


def _p95(ordered: list[float]) -> float:
    return ordered[int(0.95 * (len(ordered) - 1))]


if __name__ == "__main__":
    main()
