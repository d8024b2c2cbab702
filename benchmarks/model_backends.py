"""Measure every inference backend of a model and record the fastest accurate one as its CPU default.

    python benchmarks/model_backends.py [--model DIR] [--limit N] [--write]

Prints one JSON object. Uses the validation splits in ../shared/data.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from models.benchmark import benchmark_model

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="model dir (default: the shipped model)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N validation rows per task")
    parser.add_argument("--write", action="store_true", help="record results and the default in the model dir")
    args = parser.parse_args()
    data = {
        "sentiment": DATA / "twitter_financial_news_sentiment" / "validation.csv",
        "topic": DATA / "twitter_financial_news_topic" / "validation.csv",
    }
    print(json.dumps(benchmark_model(args.model, data, args.limit, args.write)))


if __name__ == "__main__":
    main()
