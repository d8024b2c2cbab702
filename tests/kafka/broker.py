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


@pytest.fixture
def kafka_worker_env(
    apache_kafka: ApacheKafkaBroker, tiny_model_dir: Path, tmp_path: Path
) -> tuple[Settings, dict[str, str]]:
    """Settings and a worker environment on the session broker: its own topics, group and chdb store."""
    return create_own_topics(
        apache_kafka.bootstrap,
        {
            "FINSENT_KAFKA_BOOTSTRAP": apache_kafka.bootstrap,
            "FINSENT_DATA_DIR": str(tmp_path / "data"),
            "FINSENT_MODEL": str(tiny_model_dir),
            "FINSENT_MODEL_BACKEND": "onnx-int8",
            "FINSENT_CONSUMER_GROUP": f"test-{uuid.uuid4().hex[:8]}",
            "FINSENT_KAFKA_SESSION_TIMEOUT_S": "6",
            "FINSENT_BATCH_MAX_WAIT_S": "0.2",
            "FINSENT_BATCH_MAX_SIZE": "64",
            "FINSENT_AUTHOR_HASH_KEY": AUTHOR_KEY,
        },
    )
