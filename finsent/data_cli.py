"""``finsent data``: training data the project writes itself (``data synthetic``)."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group("data")
def data() -> None:
    """Training data written by finsent itself."""


@data.command("synthetic")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="JSONL file to write")
@click.option("--n", "count", type=click.IntRange(min=1, max=100_000), default=2000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--broker-share", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="share of analyst and rating-agency rows that list the broker as a (neutral) entity")  # fmt: skip
@click.option("--slang/--no-slang", default=False, show_default=True,
              help="also write traders' slang with emoji (tweets); measured and not used, docs/models.md")  # fmt: skip
def synthetic(out: Path, count: int, seed: int, broker_share: float, slang: bool) -> None:
    """Write N synthetic factual-event sentences with per-company labels (FinEntity's JSONL format).

    Prints one JSON line: the file, the rows and their label counts.
    """
    from models.train.synthetic import summarize, synthetic_events, write_jsonl

    rows = synthetic_events(count, seed, broker_share=broker_share, slang=slang)
    write_jsonl(rows, out)
    click.echo(json.dumps({"out": str(out), "seed": seed, "slang": slang, **summarize(rows)}))
