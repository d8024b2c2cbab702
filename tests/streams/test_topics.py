"""The topics finsent expects (``streams.topics``), created and checked on Apache Kafka with auto-creation off."""

from __future__ import annotations

import uuid

import pytest

from config import Settings
from finsent.dev.apache_kafka import ApacheKafkaBroker, own_topics
from streams.topics import admin_client, check_topics, create_topics, group_lag, topic_specs

DAY_MS = 24 * 3600 * 1000


def test_every_configured_topic_gets_the_partitions_retention_and_size_limit() -> None:
    settings = Settings(topic_partitions=6, news_topic="in.news", alerts_topic="out.alerts")
    specs = {spec.name: spec for spec in topic_specs(settings.kafka, replication=3)}
    assert set(specs) == {"in.news", "finsent.social", "finsent.scores", "finsent.deadletter",
                          "finsent.alert-inputs", "out.alerts"}  # fmt: skip
    assert {(s.partitions, s.replication) for s in specs.values()} == {(6, 3)}
    assert specs["in.news"].configs == {
        "retention.ms": str(7 * DAY_MS),
        "max.message.bytes": "1048576",
        "cleanup.policy": "delete",
        "min.insync.replicas": "2",
    }
    assert (
        specs["finsent.deadletter"].configs["retention.ms"]
        == specs["out.alerts"].configs["retention.ms"]
        == str(30 * DAY_MS)
    )
    assert {s.configs["min.insync.replicas"] for s in topic_specs(settings.kafka, replication=1)} == {"1"}
    with pytest.raises(ValueError, match="at least 1"):
        topic_specs(settings.kafka, replication=0)


@pytest.mark.integration
def test_create_makes_the_missing_topics_and_check_then_finds_nothing_wrong(apache_kafka: ApacheKafkaBroker) -> None:
    settings = Settings(kafka_bootstrap=apache_kafka.bootstrap).model_copy(
        update=own_topics(f"t-{uuid.uuid4().hex[:8]}")
    )
    specs = topic_specs(settings.kafka)
    with admin_client(settings.kafka, apache_kafka.bootstrap) as admin:
        assert check_topics(admin, specs) == [f"{s.name}: missing (run `finsent topics create`)" for s in specs]
        assert create_topics(admin, specs[:2]) == {"created": [specs[0].name, specs[1].name], "existing": []}
        outcome = create_topics(admin, specs)
        assert outcome == {"created": [s.name for s in specs[2:]], "existing": [specs[0].name, specs[1].name]}
        assert check_topics(admin, specs) == []
        assert group_lag(admin, "nobody", [specs[0].name]) == 0


@pytest.mark.integration
def test_check_reports_a_topic_made_differently(apache_kafka: ApacheKafkaBroker) -> None:
    settings = Settings(kafka_bootstrap=apache_kafka.bootstrap).model_copy(
        update=own_topics(f"t-{uuid.uuid4().hex[:8]}")
    )
    specs = topic_specs(settings.kafka)
    scores = settings.scores_topic
    with admin_client(settings.kafka, apache_kafka.bootstrap) as admin:
        admin.create_topics({scores: {"num_partitions": 2, "replication_factor": 1}})
        create_topics(admin, specs)
        problems = check_topics(admin, specs)
    # Made by hand with the broker's defaults: create left it alone, check names each difference.
    assert problems == [f"{scores}: 2 partitions, expected 4", f"{scores}: max.message.bytes=1048588, expected 1048576"]
