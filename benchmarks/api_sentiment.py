"""``GET /v1/sentiment`` latency over 30 days of 1-minute data for one symbol, with 10M score rows stored (chdb).

    python benchmarks/api_sentiment.py [--rows 10000000] [--requests 200]

Fills a fresh chdb store with ``--rows`` generated documents over 30 days (one row each in
``documents`` and ``scores``; the per-minute rollups fill through their materialized views),
a tenth of them about the measured symbol. Then it times ``--requests`` calls through the
FastAPI app (in process), alternating intervals 1m, 5m, 1h, 1d and ranges of 1 to 30 days.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from api.app import ClassifierSource, create_app
from api.keys import KeyRing
from config import Settings
from storage import open_store
from storage.synthetic import SYMBOL, fill_synthetic_history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--requests", type=int, default=200)
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
        shapes = [("1m", 1), ("5m", 7), ("1h", 30), ("1d", 30), ("1m", 30)]
        timings: dict[str, list[float]] = {f"{i}/{d}d": [] for i, d in shapes}
        points: dict[str, int] = {}
        for n in range(args.requests + len(shapes)):
            interval, days = shapes[n % len(shapes)]
            params = {"symbol": SYMBOL, "interval": interval, "from": (end - timedelta(days=days)).isoformat(),
                      "to": end.isoformat()}  # fmt: skip
            began = time.perf_counter()
            answer = client.get("/v1/sentiment", params=params, headers=headers)
            elapsed_ms = (time.perf_counter() - began) * 1000
            answer.raise_for_status()
            if n >= len(shapes):  # the first round warms caches
                timings[f"{interval}/{days}d"].append(elapsed_ms)
            points[f"{interval}/{days}d"] = len(answer.json()["points"])
        store.close()
    every = sorted(t for values in timings.values() for t in values)
    print(
        json.dumps(
            {
                "score_rows": stored,
                "fill_s": round(fill_s, 1),
                "requests": len(every),
                "p50_ms": round(statistics.median(every), 1),
                "p95_ms": round(every[int(0.95 * (len(every) - 1))], 1),
                "by_shape_p95_ms": {k: round(sorted(v)[int(0.95 * (len(v) - 1))], 1) for k, v in timings.items()},
                "points": points,
            }
        )
    )


if __name__ == "__main__":
    main()
