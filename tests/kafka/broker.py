"""Apache Kafka for the tests that need the real broker: one per session, topics of their own per test.

The jars come from ``make kafka`` (tests/kafka/pom.xml); without Java or the jars these tests
skip with the reason, and everything else still runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import Settings
from finsent.dev.apache_kafka import ApacheKafkaBroker, missing_requirement, own_topics, topics_env
from streams.topics import admin_client, create_topics, topic_specs
from tests.streams.feed import AUTHOR_KEY


def require_apache_kafka() -> None:
    """Skip the calling test, with the one-line reason, where the broker cannot run."""
    reason = missing_requirement()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def apache_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApacheKafkaBroker]:
    """A single-node KRaft broker on loopback for the whole session (auto topic creation off)."""
    require_apache_kafka()
    with ApacheKafkaBroker(work_dir=tmp_path_factory.mktemp("apache-kafka")) as broker:
        yield broker


def create_own_topics(
    bootstrap: str, env: dict[str, str] | None = None, partitions: int = 4
) -> tuple[Settings, dict[str, str]]:
    """Create a topic set of its own on ``bootstrap``: its Settings and the worker environment naming it."""
    topics = own_topics(f"t-{uuid.uuid4().hex[:8]}")
    settings = Settings(kafka_bootstrap=bootstrap).model_copy(update={**topics, "topic_partitions": partitions})
    with admin_client(settings.kafka, bootstrap) as admin:
        create_topics(admin, topic_specs(settings.kafka))
    return settings, topics_env(topics) | {"FINSENT_TOPIC_PARTITIONS": str(partitions)} | (env or {})


def kafka_worker_env(bootstrap: str, data_dir: Path, model_dir: Path, group: str, **extra: str) -> dict[str, str]:
    """A worker's environment on an Apache Kafka test broker: its own store, the tiny model, short timeouts."""
    return {
        "FINSENT_KAFKA_BOOTSTRAP": bootstrap,
        "FINSENT_DATA_DIR": str(data_dir),
        "FINSENT_MODEL": str(model_dir),
        "FINSENT_MODEL_BACKEND": "onnx-int8",
        "FINSENT_CONSUMER_GROUP": group,
        "FINSENT_KAFKA_SESSION_TIMEOUT_S": "6",
        "FINSENT_BATCH_MAX_SIZE": "32",
        "FINSENT_AUTHOR_HASH_KEY": AUTHOR_KEY,
        **extra,
    }
