"""``finsent topics create|check`` on Apache Kafka, once with SASL/SCRAM, where a worker then consumes too."""

from __future__ import annotations

import json
import secrets
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from config import Settings
from finsent.cli import main
from finsent.dev.apache_kafka import ApacheKafkaBroker, ScramUser, own_topics, topics_env
from tests.kafka.broker import kafka_worker_env, require_apache_kafka
from tests.streams.feed import send_feed, start_worker
from tests.streams.test_worker_integration import chdb_url, stored_counts, wait_for


def test_topics_without_a_bootstrap_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FINSENT_KAFKA_BOOTSTRAP", raising=False)
    result = CliRunner().invoke(main, ["topics", "check"])
    assert result.exit_code == 2 and "FINSENT_KAFKA_BOOTSTRAP is not set" in result.output


def test_topics_against_no_broker_is_one_line(monkeypatch: pytest.MonkeyPatch, closed_port: int) -> None:
    monkeypatch.setenv("FINSENT_KAFKA_BOOTSTRAP", f"127.0.0.1:{closed_port}")
    result = CliRunner().invoke(main, ["topics", "check"])
    assert result.exit_code == 6 and result.output.startswith("Error: cannot reach Kafka at 127.0.0.1:")
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.integration
def test_create_then_check(apache_kafka: ApacheKafkaBroker, monkeypatch: pytest.MonkeyPatch) -> None:
    topics = own_topics(f"t-{uuid.uuid4().hex[:8]}")
    for name, value in (topics_env(topics) | {"FINSENT_KAFKA_BOOTSTRAP": apache_kafka.bootstrap}).items():
        monkeypatch.setenv(name, value)
    before = CliRunner().invoke(main, ["topics", "check"])
    assert before.exit_code == 1 and len(json.loads(before.output)["problems"]) == 6
    created = CliRunner().invoke(main, ["topics", "create"])
    assert created.exit_code == 0, created.output
    assert json.loads(created.output) == {"created": list(topics.values()), "existing": [], "problems": []}
    again = CliRunner().invoke(main, ["topics", "create"])
    assert json.loads(again.output)["existing"] == list(topics.values())
    assert CliRunner().invoke(main, ["topics", "check"]).exit_code == 0
    # One broker cannot hold three replicas: check says so for every topic.
    three = CliRunner().invoke(main, ["topics", "check", "--replication", "3"])
    assert (
        three.exit_code == 1
        and sum("replication 1, expected 3" in p for p in json.loads(three.output)["problems"]) == 6
    )


@pytest.mark.integration
def test_scram_credentials_create_topics_and_carry_a_worker(
    tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_apache_kafka()
    user = ScramUser("finsent", secrets.token_urlsafe(12))
    with ApacheKafkaBroker(work_dir=tmp_path / "kafka", scram_user=user) as broker:
        topics = own_topics("scram")
        env = topics_env(topics) | {
            "FINSENT_KAFKA_BOOTSTRAP": broker.bootstrap,
            "FINSENT_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "FINSENT_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256",
            "FINSENT_KAFKA_SASL_USERNAME": user.name,
            "FINSENT_KAFKA_SASL_PASSWORD": "not-" + user.password,
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        refused = CliRunner().invoke(main, ["topics", "create"])
        assert refused.exit_code == 6 and "cannot reach Kafka" in refused.output
        monkeypatch.setenv("FINSENT_KAFKA_SASL_PASSWORD", user.password)
        created = CliRunner().invoke(main, ["topics", "create"])
        assert created.exit_code == 0 and json.loads(created.output)["created"] == list(topics.values())
        env = kafka_worker_env(broker.bootstrap, tmp_path / "data", tiny_model_dir, "scram", **env)
        env["FINSENT_KAFKA_SASL_PASSWORD"] = user.password
        worker = start_worker(env, tmp_path / "worker.log")
        feed = send_feed(broker.bootstrap, docs=100, bad_ratio=0.0, seed=505, settings=Settings())
        wait_for([worker], "stored_documents", len(feed.valid_ids))
        worker.stop()
    assert stored_counts(chdb_url(env), feed.valid_ids)[:2] == (len(feed.valid_ids), len(feed.valid_ids))
    assert user.password not in worker.log_file.read_text()
