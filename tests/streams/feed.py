"""Helpers for stream tests: send a generated feed, start worker processes."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from config import Settings
from config.kafka import kafka_client_config
from finsent.dev.process import WorkerProcess
from ingest.generator import FeedConfig, FeedGenerator
from ingest.producer import ProduceStats, produce
from schemas import InvalidMessage, parse_document

AUTHOR_KEY = "test-author-key"


@dataclass
class Feed:
    """A generated feed and the ids a consumer should end up storing."""

    stats: ProduceStats
    valid_ids: list[str] = field(default_factory=list)


def send_feed(
    bootstrap: str, docs: int, bad_ratio: float, seed: int, rate: float | None = None, settings: Settings | None = None
) -> Feed:
    """Send a generated feed to ``bootstrap`` (to ``settings``' input topics, else the default ones)."""
    config = FeedConfig(seed=seed, bad_ratio=bad_ratio, start=datetime(2026, 11, 23, 9, 0, tzinfo=UTC))
    messages = list(FeedGenerator(config).messages(docs))
    valid_ids = []
    for message in messages:
        with contextlib.suppress(InvalidMessage):
            valid_ids.append(parse_document(message.value, message.kind, AUTHOR_KEY.encode()).doc_id)
    settings = settings or Settings()
    stats = produce(
        messages,
        kafka_client_config(settings.kafka, bootstrap),
        settings.input_topics(),
        rate=rate,
        progress=False,
    )
    return Feed(stats, valid_ids)


def start_worker(env: dict[str, str], log: Path) -> WorkerProcess:
    worker = WorkerProcess(env, log).start()
    worker.wait_ready(timeout_s=240)
    return worker
