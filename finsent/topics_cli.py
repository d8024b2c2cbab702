"""``finsent topics``: create the configured Kafka topics explicitly, and check them."""

from __future__ import annotations

import json
import sys

import click

from config import Settings
from finsent.clisupport import settings_for_cli
from streams.topics import admin_client, check_topics, create_topics, topic_specs

REPLICATION = click.option(
    "--replication",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="replicas per partition (3 on a production cluster)",
)


def _bootstrap(settings: Settings) -> str:
    if not settings.kafka_bootstrap:
        raise click.UsageError("FINSENT_KAFKA_BOOTSTRAP is not set: point it at the Kafka cluster")
    return settings.kafka_bootstrap


@click.group()
def topics() -> None:
    """The Kafka topics finsent uses (FINSENT_*_TOPIC, FINSENT_TOPIC_PARTITIONS): create or check them."""


@topics.command(name="create")
@REPLICATION
def topics_create(replication: int) -> None:
    """Create the missing topics (existing ones are left as they are), then check them all; print JSON."""
    settings = settings_for_cli()
    specs = topic_specs(settings.kafka, replication)
    with admin_client(settings.kafka, _bootstrap(settings)) as admin:
        outcome = create_topics(admin, specs)
        problems = check_topics(admin, specs)
    click.echo(json.dumps({**outcome, "problems": problems}))
    sys.exit(1 if problems else 0)


@topics.command(name="check")
@REPLICATION
def topics_check(replication: int) -> None:
    """Report how the topics differ from what finsent expects; exit 1 if they do."""
    settings = settings_for_cli()
    specs = topic_specs(settings.kafka, replication)
    with admin_client(settings.kafka, _bootstrap(settings)) as admin:
        problems = check_topics(admin, specs)
    click.echo(json.dumps({"topics": [s.name for s in specs], "problems": problems}))
    sys.exit(1 if problems else 0)
