"""``finsent bench model|windows|pipeline|soak``: the benchmarks behind the README's figures, as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from finsent.clisupport import DATA_ROOT


@click.group()
def bench() -> None:
    """Benchmarks that print JSON (the performance figures in the README come from these)."""


@bench.command(name="model")
@click.option("--model", default=None, help="finsent-minilm, finsent-mpnet, a model dir or a hub id")
@DATA_ROOT
@click.option("--backend", "backends", multiple=True, help="repeat to pick backends (default: all available)")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="a seeded sample of N validation rows per task, stratified by label (default: all)")  # fmt: skip
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json", show_default=True)
def bench_model_command(
    model: str | None, data_root: Path | None, backends: tuple[str, ...], limit: int | None, fmt: str
) -> None:
    """Texts/s of each backend at batch 1/16/64/256 on tweets and articles, its F1 and label agreement with fp32."""
    from finsent.dev.bench import bench_model
    from models.corpora import corpora

    click.echo(json.dumps(bench_model(model, corpora(data_root).validation_files(), limit, backends)))


@bench.command(name="windows")
@click.option("--model", default=None, help="finsent-minilm, finsent-mpnet, a model dir or a hub id")
@DATA_ROOT
@click.option("--docs", type=click.IntRange(min=2), default=40, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json", show_default=True)
def bench_windows_command(model: str | None, data_root: Path | None, docs: int, fmt: str) -> None:
    """Cost and effect of the per-document window cap, on long documents of real news sentences (newsmtsc)."""
    from finsent.dev.bench_windows import bench_windows
    from models.corpora import NEWSMTSC, corpora
    from models.data import read_labelled

    sentences = read_labelled(corpora(data_root).file(NEWSMTSC), {}, require_label=False).texts
    click.echo(json.dumps(bench_windows(model, sentences, docs)))


@bench.command(name="pipeline")
@click.option("--docs", type=click.IntRange(min=100), default=5_000, show_default=True)
@click.option("--model", default=None, help="model dir, HF id, or 'null' (default: the shipped model)")
@click.option("--backend", default="auto", show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=1024, show_default=True)
@click.option("--store", "store_url", default=None, help="clickhouse://… (default: a fresh chdb per run)")
@click.option("--latency-seconds", type=click.FloatRange(min=5), default=20.0, show_default=True)
@click.option("--naive-docs", type=click.IntRange(min=20), default=300, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json", show_default=True)
def bench_pipeline_command(fmt: str, store_url: str | None, **options: Any) -> None:
    """Model alone vs the whole pipeline vs its ceiling (null model) vs a naive loop, plus latency and RSS."""
    from finsent.dev.bench import PipelineBenchOptions, bench_pipeline

    settings = PipelineBenchOptions(
        **options, store_url=store_url, progress=lambda message: click.echo(f"bench: {message}", err=True)
    )
    click.echo(json.dumps(bench_pipeline(settings)))


@bench.command(name="soak")
@click.option("--minutes", type=click.FloatRange(min=0.5), default=10.0, show_default=True)
@click.option("--rate", type=click.FloatRange(min=1), default=None, help="docs/s (default: 80 % of measured max)")
@click.option("--model", default=None, help="model dir, HF id, or 'null' (default: the shipped model)")
@click.option("--backend", default="auto", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["json"]), default="json", show_default=True)
def bench_soak_command(minutes: float, rate: float | None, model: str | None, backend: str, fmt: str) -> None:
    """Run a worker at 80 % of its max throughput for MINUTES; report RSS growth and lag."""
    from finsent.dev.bench import PipelineBenchOptions, bench_soak

    options = PipelineBenchOptions(
        model=model, backend=backend, progress=lambda message: click.echo(f"bench: {message}", err=True)
    )
    click.echo(json.dumps(bench_soak(options, minutes, rate)))
