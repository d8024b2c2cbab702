"""``finsent demo``, ``worker`` and ``chaos``: running the service, whole or under fire."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from finsent.clisupport import settings_for_cli, setup_logging


@click.command()
@click.option("--docs", type=click.IntRange(min=1), default=3000, show_default=True, help="documents to generate")
@click.option("--seconds", type=click.FloatRange(min=1), default=None, help="stop after this long instead")
@click.option("--bad-ratio", type=click.FloatRange(0, 1), default=0.05, show_default=True)
@click.option("--rate", type=click.FloatRange(min=1), default=200.0, show_default=True, help="messages per second")
@click.option("--seed", type=int, default=None, help="generator seed (default: new each run)")
@click.option(
    "--data-dir", type=click.Path(path_type=Path), default=None, help="where chdb keeps its data [./.finsent]"
)
@click.option("--live/--no-live", default=None, help="live terminal view (default: when stderr is a terminal)")
def demo(
    docs: int,
    seconds: float | None,
    bad_ratio: float,
    rate: float,
    seed: int | None,
    data_dir: Path | None,
    live: bool | None,
) -> None:
    """Run broker, worker, store and a synthetic feed together; end with one JSON line."""
    from finsent.dev.demo import DemoOptions, run_demo

    settings = settings_for_cli()
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    setup_logging("WARNING")
    options = DemoOptions(
        docs=docs,
        seconds=seconds,
        bad_ratio=bad_ratio,
        rate=rate,
        seed=seed,
        live=sys.stderr.isatty() if live is None else live,
    )
    summary = run_demo(settings, options)
    click.echo(json.dumps(summary))
    sys.exit(0 if summary.get("ok") else 1)


@click.command()
def worker() -> None:
    """Consume news and social posts, classify, store (blocks until Ctrl-C / SIGTERM)."""
    from finsent.worker import run_worker

    settings = settings_for_cli()
    setup_logging(settings.log_level)
    run_worker(settings)


@click.command()
@click.option("--kills", type=click.IntRange(min=0), default=5, show_default=True, help="SIGKILLs of the worker")
@click.option("--docs", type=click.IntRange(min=10), default=5_000, show_default=True)
@click.option("--rate", type=click.FloatRange(min=1), default=250.0, show_default=True, help="messages per second")
@click.option("--bad-ratio", type=click.FloatRange(0, 1), default=0.05, show_default=True)
@click.option("--seed", type=int, default=13, show_default=True)
@click.option("--model", default=None, help="model dir, HF id, or 'null' (default: the shipped model)")
@click.option("--backend", default="auto", show_default=True)
@click.option(
    "--broker",
    type=click.Choice(["embedded", "apache-kafka"]),
    default="embedded",
    show_default=True,
    help="apache-kafka: restarts rejoin one consumer group (needs `make kafka`, or --bootstrap)",
)
@click.option("--bootstrap", default=None, help="with --broker apache-kafka: a running broker (HOST:PORT)")
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json", show_default=True)
def chaos(fmt: str, **options: Any) -> None:
    """Stream DOCS documents while SIGKILLing the worker KILLS times; print lost and duplicated counts."""
    from finsent.dev.chaos import ChaosOptions, run_chaos

    result = run_chaos(ChaosOptions(**options), say=lambda message: click.echo(f"chaos: {message}", err=True))
    click.echo(json.dumps(result))
    if not result["ok"]:
        sys.exit(1)
