"""Measure every inference backend of a model and record the fastest accurate one as its CPU default.

    python benchmarks/model_backends.py --data-root DIR [--model DIR] [--limit N] [--write] [--default BACKEND]

Prints one JSON object. Uses the tweet validation splits under the data root
(``--data-root`` or ``FINSENT_TRAINING_DATA``; see models/corpora.py).
"""

from __future__ import annotations

import argparse
import json
import os

from finsent.dev.backends import benchmark_model
from models.backends import CPU_BACKENDS
from models.corpora import corpora


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="model dir (default: the shipped model)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N validation rows per task")
    parser.add_argument("--write", action="store_true", help="record results and the default in the model dir")
    parser.add_argument("--data-root", default=os.environ.get("FINSENT_TRAINING_DATA"))
    parser.add_argument(
        "--default", choices=CPU_BACKENDS, default=None, help="record this default, not the rule's (both are kept)"
    )
    args = parser.parse_args()
    data = corpora(args.data_root).validation_files()
    print(json.dumps(benchmark_model(args.model, data, args.limit, args.write, args.default)))


if __name__ == "__main__":
    main()
