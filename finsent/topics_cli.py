"""``finsent topics``: create the configured Kafka topics explicitly, and check them."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from finsent.clisupport import settings_for_cli
from streams.topics import TopicSpec, admin_client, check_topics, create_topics, topic_specs

REPLICATION = click.option(
    "--replication",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="replicas per partition (3 on a production cluster)",
)


@contextmanager
def _configured_admin(replication: int) -> Iterator[tuple[Any, list[TopicSpec]]]:
    """An admin client on the configured brokers, and the topics finsent expects there."""
    settings = settings_for_cli()
    if not settings.kafka_bootstrap:
        raise click.UsageError("FINSENT_KAFKA_BOOTSTRAP is not set: point it at the Kafka cluster")
    with admin_client(settings.kafka, settings.kafka_bootstrap) as admin:
        yield admin, topic_specs(settings.kafka, replication)


@click.group()
def topics() -> None:
    """The Kafka topics finsent uses (FINSENT_*_TOPIC, FINSENT_TOPIC_PARTITIONS): create or check them."""


@topics.command(name="create")
@REPLICATION
def topics_create(replication: int) -> None:
    """Create the missing topics (existing ones are left as they are), then check them all; print JSON."""
    with _configured_admin(replication) as (admin, specs):
        outcome = create_topics(admin, specs)
        problems = check_topics(admin, specs)
    click.echo(json.dumps({**outcome, "problems": problems}))
    sys.exit(1 if problems else 0)


@topics.command(name="check")
@REPLICATION
def topics_check(replication: int) -> None:
    """Report how the topics differ from what finsent expects; exit 1 if they do."""
    with _configured_admin(replication) as (admin, specs):
        problems = check_topics(admin, specs)
    click.echo(json.dumps({"topics": [s.name for s in specs], "problems": problems}))
    sys.exit(1 if problems else 0)
