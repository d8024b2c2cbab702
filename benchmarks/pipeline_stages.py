"""The pipeline's ceiling (null model) and where its time goes, without the rest of ``bench pipeline``.

    python benchmarks/pipeline_stages.py [--docs 4000] [--runs 1]

Each run: a fresh embedded broker and chdb, a backlog of ``--docs`` generated documents and one
worker with the null model (``finsent.dev.bench.run_e2e``). Prints one JSON object per run: docs/s,
per stage the mean µs of wall and CPU time per message (``streams.stages``), and the load average,
which on a shared machine says how far to trust the wall figures.
"""

from __future__ import annotations

import argparse
import json
import os

from finsent.dev.bench import PipelineBenchOptions, feed, machine, run_e2e


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=4_000)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    for run in range(args.runs):
        figures = run_e2e(feed(args.docs, seed=8 + run), PipelineBenchOptions(docs=args.docs), "null")
        stages = {name: [cost["wall_us"], cost["cpu_us"]] for name, cost in figures["stages"].items()}
        print(json.dumps({
            "docs_per_s": round(figures["docs_per_s"], 1),
            "stages_wall_cpu_us": stages,
            "load_average": round(os.getloadavg()[0], 2),
            "machine": machine(),
        }), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
