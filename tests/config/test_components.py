"""Each component's slice carries exactly the settings it is cut from, every field a distinct value."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import SecretStr

from config import Settings
from config.components import (
    AlertSettings,
    ApiSettings,
    BatchSettings,
    GrafanaSettings,
    KafkaSettings,
    LearningSettings,
    ModelSettings,
    TopicNames,
)
from config.kafka import KafkaSecurity


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path, "kafka_bootstrap": "k1:9093", "kafka_security_protocol": "SASL_SSL",
        "kafka_sasl_mechanism": "SCRAM-SHA-512", "kafka_sasl_username": "svc", "kafka_sasl_password": "kafka-pw",
        "kafka_ssl_cafile": tmp_path / "ca.pem", "kafka_ssl_certfile": tmp_path / "cert.pem",
        "kafka_ssl_keyfile": tmp_path / "key.pem", "kafka_session_timeout_s": 11.0, "kafka_unavailable_exit_s": 61.0,
        "kafka_fetch_max_wait_ms": 101, "news_topic": "n", "social_topic": "s", "scores_topic": "sc",
        "deadletter_topic": "dl", "alert_inputs_topic": "ai", "alerts_topic": "al", "topic_partitions": 7,
        "consumer_group": "grp", "model": "org/model", "model_backend": "onnx", "model_max_windows": 3,
        "device": "cpu", "batch_max_size": 65, "batch_max_wait_s": 0.25, "max_future_skew_s": 12.0,
        "model_follow": False, "model_poll_s": 2.5, "training_data": tmp_path / "train.csv",
        "alerts_enabled": False, "alert_rules_file": tmp_path / "rules.yaml", "grafana_url": "https://g.test",
        "grafana_token": "g-token", "grafana_timeout_s": 4.5, "grafana_verify_tls": False,
        "grafana_datasource_uid": "uid", "api_host": "0.0.0.0", "api_port": 8081, "api_max_texts": 9,
        "api_max_text_chars": 99, "api_max_body_bytes": 9_999, "api_max_request_chars": 999,
        "api_rate_limit_per_min": 19, "api_key_tokens_per_min": 1_999,
        "api_max_anonymous_body_bytes": 8_888, "api_max_request_tokens": 777, "api_auth_failures_per_min": 29,
        "api_key_cache_s": 3.5,
    }  # fmt: skip
    return Settings(**values)  # type: ignore[arg-type]


def test_every_slice_field_comes_from_its_setting(settings: Settings, tmp_path: Path) -> None:
    topics = TopicNames(news="n", social="s", scores="sc", dead_letters="dl", alert_inputs="ai", alerts="al")
    security = KafkaSecurity(
        protocol="SASL_SSL", mechanism="SCRAM-SHA-512", username="svc", password="kafka-pw",
        cafile=tmp_path / "ca.pem", certfile=tmp_path / "cert.pem", keyfile=tmp_path / "key.pem",
    )  # fmt: skip
    grafana = GrafanaSettings(
        url="https://g.test", token=SecretStr("g-token"), timeout_s=4.5, verify_tls=False, datasource_uid="uid"
    )
    assert settings.topics == topics
    assert settings.kafka == KafkaSettings(
        bootstrap="k1:9093", security=security, topics=topics, partitions=7, consumer_group="grp",
        session_timeout_s=11.0, unavailable_exit_s=61.0, fetch_max_wait_ms=101,
    )  # fmt: skip
    assert settings.batching == BatchSettings(max_size=65, max_wait_s=0.25, max_future_skew_s=12.0)
    assert settings.classifier == ModelSettings(name="org/model", backend="onnx", max_windows=3, device="cpu")
    assert settings.learning == LearningSettings(
        registry_dir=tmp_path / "models", follow=False, poll_s=2.5, training_data=tmp_path / "train.csv"
    )
    assert settings.grafana == grafana
    assert settings.alerting == AlertSettings(rules_file=tmp_path / "rules.yaml", enabled=False, grafana=grafana)
    assert settings.api == ApiSettings(
        rules_file=tmp_path / "rules.yaml", host="0.0.0.0", port=8081, max_texts=9, max_text_chars=99,
        max_body_bytes=9_999, max_anonymous_body_bytes=8_888, max_request_chars=999, max_request_tokens=777,
        rate_limit_per_min=19, key_tokens_per_min=1_999,
        auth_failures_per_min=29, key_cache_s=3.5, grafana=grafana, model="org/model",
    )  # fmt: skip


def test_the_registry_has_its_own_setting(settings: Settings, tmp_path: Path) -> None:
    moved = settings.model_copy(update={"model_registry_dir": tmp_path / "elsewhere"})
    assert moved.learning.registry_dir == tmp_path / "elsewhere"


@dataclass(frozen=True)
class Unmapped:
    port: int
    colour: str


def test_a_field_with_no_setting_is_an_error_not_a_default(settings: Settings) -> None:
    assert settings._slice(Unmapped, "api_{}", colour="red") == Unmapped(port=8081, colour="red")
    with pytest.raises(AttributeError, match="colour"):
        settings._slice(Unmapped, "api_{}")
