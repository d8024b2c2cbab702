"""The Kafka topics finsent reads and writes, as an operator creates them: explicitly, before the workers.

A broker with ``auto.create.topics.enable=false`` (the sane production setting) refuses to make
topics on first use; ``finsent topics create`` makes each configured topic with its partitions,
replication and the configs below, and ``finsent topics check`` reports every difference between
what the brokers hold and what finsent expects. Existing topics are never altered.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from config.components import KafkaSettings
from config.kafka import kafka_client_config
from streams.exceptions import BrokerError

DAY_MS = 24 * 3600 * 1000
MAX_MESSAGE_BYTES = 1_048_576
"""1 MiB: a document the parser accepts (200,000 characters) fits; so does an alert-inputs array."""
RETENTION_DAYS = {"dead_letters": 30, "alerts": 30}
"""Per topic role; every other topic keeps 7 days (inputs are replayable for a week after an incident)."""
DEFAULT_RETENTION_DAYS = 7
CHECKED_CONFIGS = ("retention.ms", "max.message.bytes", "cleanup.policy", "min.insync.replicas")


@dataclass(frozen=True)
class TopicSpec:
    """One topic as finsent expects it."""

    name: str
    partitions: int
    replication: int
    configs: dict[str, str] = field(default_factory=dict)


def topic_specs(kafka: KafkaSettings, replication: int = 1) -> list[TopicSpec]:
    """The configured topics, each with ``kafka.partitions`` partitions and ``replication`` replicas.

    Every topic gets the same partition count: the alert-inputs and input topics are consumed
    by one Faust app whose ``topic_partitions`` is that count.
    """
    if replication < 1:
        raise ValueError("replication must be at least 1")
    specs = []
    for role, name in vars(kafka.topics).items():
        days = RETENTION_DAYS.get(role, DEFAULT_RETENTION_DAYS)
        configs = {
            "retention.ms": str(days * DAY_MS),
            "max.message.bytes": str(MAX_MESSAGE_BYTES),
            "cleanup.policy": "delete",
            # With acks=all (the worker's producer), a write survives one replica's loss.
            "min.insync.replicas": str(min(2, replication)),
        }
        specs.append(TopicSpec(name, kafka.partitions, replication, configs))
    return specs


@contextmanager
def admin_client(kafka: KafkaSettings, bootstrap: str, timeout_s: float = 10.0) -> Iterator[Any]:
    """A kafka-python admin client with the configured security; BrokerError when no broker answers."""
    from kafka.admin import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        timeout_ms = int(timeout_s * 1000)
        admin = KafkaAdminClient(
            **kafka_client_config(kafka, bootstrap), request_timeout_ms=timeout_ms, bootstrap_timeout_ms=timeout_ms
        )
    except (KafkaError, OSError) as exc:
        raise BrokerError(f"cannot reach Kafka at {bootstrap} (down, or it refused the credentials): {exc}") from exc
    try:
        yield admin
    finally:
        admin.close()


def create_topics(admin: Any, specs: Sequence[TopicSpec]) -> dict[str, list[str]]:
    """Create the topics of ``specs`` that do not exist yet; ``{"created": [...], "existing": [...]}``."""
    present = set(admin.list_topics())
    missing = [spec for spec in specs if spec.name not in present]
    if missing:
        request = {
            s.name: {"num_partitions": s.partitions, "replication_factor": s.replication, "configs": s.configs}
            for s in missing
        }
        response = admin.create_topics(request, raise_errors=False, wait_for_metadata=True)
        errors = [f"{t['name']}: {t['error_message']}" for t in response["topics"] if t["error_code"] not in (0, 36)]
        if errors:
            raise BrokerError(f"Kafka refused to create topics: {'; '.join(errors)}")
    return {
        "created": [s.name for s in missing],
        "existing": [s.name for s in specs if s.name in present],
    }


def check_topics(admin: Any, specs: Sequence[TopicSpec]) -> list[str]:
    """Every way the brokers' topics differ from ``specs``, one line each (empty: all as expected)."""
    from kafka.admin import ConfigResource, ConfigResourceType

    described = {t["name"]: t for t in admin.describe_topics([s.name for s in specs])}
    problems, existing = [], []
    for spec in specs:
        topic = described.get(spec.name)
        if topic is None or topic["error_code"] != 0:
            problems.append(f"{spec.name}: missing (run `finsent topics create`)")
            continue
        existing.append(spec)
        partitions = topic["partitions"]
        if len(partitions) != spec.partitions:
            problems.append(f"{spec.name}: {len(partitions)} partitions, expected {spec.partitions}")
        replicas = min((len(p["replica_nodes"]) for p in partitions), default=0)
        if replicas != spec.replication:
            problems.append(f"{spec.name}: replication {replicas}, expected {spec.replication}")
    if existing:
        resources = [ConfigResource(ConfigResourceType.TOPIC, s.name, dict.fromkeys(CHECKED_CONFIGS)) for s in existing]
        actual = admin.describe_configs(resources, config_filter="all").get("topic", {})
        for spec in existing:
            for key, expected in spec.configs.items():
                value = actual.get(spec.name, {}).get(key, {}).get("value")
                if value != expected:
                    problems.append(f"{spec.name}: {key}={value}, expected {expected}")
    return problems


def delete_topics(admin: Any, names: Sequence[str]) -> None:
    """Delete ``names`` (those that exist); for test and chaos runs that made their own topics."""
    present = set(admin.list_topics())
    doomed = [name for name in names if name in present]
    if doomed:
        admin.delete_topics(doomed, raise_errors=False)


def group_lag(admin: Any, group: str, topics: Sequence[str]) -> int:
    """Messages on ``topics`` past ``group``'s committed offsets (a partition never committed counts whole)."""
    from kafka import TopicPartition
    from kafka.admin import OffsetSpec

    partitions = [
        TopicPartition(topic["name"], partition["partition_index"])
        for topic in admin.describe_topics(list(topics))
        for partition in topic["partitions"]
    ]
    ends = admin.list_partition_offsets(dict.fromkeys(partitions, OffsetSpec.LATEST))
    committed = _committed_offsets(admin, group, partitions)
    lag = 0
    for partition in partitions:
        done = committed.get(partition)
        lag += max(0, ends[partition].offset - max(0, done.offset if done is not None else 0))
    return lag


def _committed_offsets(admin: Any, group: str, partitions: list[Any], timeout_s: float = 30.0) -> dict[Any, Any]:
    """The group's committed offsets, waiting out the coordinator a new broker has not yet elected."""
    from kafka.errors import KafkaError

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return dict(admin.list_group_offsets({group: partitions}).get(group, {}))
        except KafkaError as exc:
            if not exc.retriable or time.monotonic() > deadline:
                raise BrokerError(f"cannot read the offsets of consumer group {group}: {exc}") from exc
        time.sleep(0.5)
