"""``finsent replay`` and ``generate``: documents into the news and social topics."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from config import Settings
from finsent.clisupport import settings_for_cli

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ingest.messages import OutgoingMessage
    from ingest.producer import ProduceStats


def _send_to_kafka(
    settings: Settings,
    messages: Iterable[OutgoingMessage],
    rate: float | None,
    total: int | None,
    unit: str = "message",
) -> None:
    """Produce to the news/social topics with a progress bar; print the counts as JSON."""
    from config.kafka import kafka_client_config
    from ingest.producer import produce

    stats = produce(
        messages,
        kafka_client_config(settings.kafka, _bootstrap_or_fail(settings)),
        settings.input_topics(),
        rate=rate,
        total=total,
        progress=sys.stderr.isatty(),
    )
    click.echo(json.dumps(stats.summary()))
    _fail_on_unsent(stats, unit)


def _fail_on_unsent(stats: ProduceStats, unit: str) -> None:
    """Name each message that could not be sent (the rest were), then fail the command."""
    if not stats.failed:
        return
    for failure in stats.failures:
        where = f"{unit} {failure.position}" if failure.position is not None else f"a {unit}"
        click.echo(f"{where}: not sent: {failure.reason}", err=True)
    from ingest.producer import SendFailed

    unnamed = stats.failed - len(stats.failures)
    more = f" ({unnamed} more not named)" if unnamed else ""
    raise SendFailed(f"{stats.failed} of {stats.produced} messages not sent{more}")


def _bootstrap_or_fail(settings: Settings) -> str:
    if not settings.kafka_bootstrap:
        raise click.UsageError(
            "FINSENT_KAFKA_BOOTSTRAP is not set: point it at Kafka, or at the embedded "
            "broker a running `finsent worker` prints at start-up"
        )
    return settings.kafka_bootstrap


@click.command()
@click.argument("source", type=str)
@click.option("--kind", type=click.Choice(["news", "social"]), required=True)
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default=None, help="default: from the extension")
@click.option("--rate", type=click.FloatRange(min=0.1), default=None, help="messages per second (default: unlimited)")
def replay(source: str, kind: str, fmt: str | None, rate: float | None) -> None:
    """Send a JSONL or CSV file (or - for stdin) to the news or social topic."""
    from ingest.replay import POSITION_UNITS, count_lines, read_messages, resolve_format
    from schemas import DocumentKind

    settings = settings_for_cli()
    try:
        messages = read_messages(source, DocumentKind(kind), fmt)
        total = None if source == "-" else count_lines(source)
    except OSError as exc:
        raise click.UsageError(f"cannot read {source}: {exc.strerror or exc}") from exc
    _send_to_kafka(settings, messages, rate, total, POSITION_UNITS[resolve_format(source, fmt)])


@click.command()
@click.option("--docs", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--bad-ratio", type=click.FloatRange(0, 1), default=0.0, show_default=True)
@click.option("--rate", type=click.FloatRange(min=0.1), default=None, help="messages per second (default: unlimited)")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="write JSONL here instead of Kafka")
def generate(docs: int, bad_ratio: float, rate: float | None, seed: int, out: Path | None) -> None:
    """Produce a synthetic feed (templated news and posts, a scripted negative burst, bad messages)."""
    from ingest.generator import FeedConfig, FeedGenerator

    generator = FeedGenerator(FeedConfig(seed=seed, bad_ratio=bad_ratio))
    if out is not None:
        with out.open("wb") as handle:
            for message in generator.messages(docs):
                handle.write(message.value.replace(b"\n", b" ") + b"\n")
        click.echo(json.dumps({"written": docs, "path": str(out)}))
        return
    _send_to_kafka(settings_for_cli(), generator.messages(docs), rate, docs)
