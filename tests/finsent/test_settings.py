from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from config import Settings
from config.kafka import kafka_client_config
from finsent.cli import main
from streams.app import broker_credentials


def test_defaults_use_embedded_chdb_under_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.resolved_store_url == f"chdb://{tmp_path.resolve() / 'chdb'}"


def test_store_password_is_merged_into_the_url_but_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINSENT_STORE_URL", "clickhouse://finsent@db.internal:9000/finsent")
    monkeypatch.setenv("FINSENT_STORE_PASSWORD", "s3cr3t/with:odd@chars")
    settings = Settings()
    assert settings.resolved_store_url == "clickhouse://finsent:s3cr3t%2Fwith%3Aodd%40chars@db.internal:9000/finsent"
    assert "s3cr3t" not in str(settings.public_view())
    assert "s3cr3t" not in repr(settings)


def test_secrets_can_come_from_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "FINSENT_KAFKA_SASL_PASSWORD").write_text("from-a-file")
    monkeypatch.setenv("FINSENT_SECRETS_DIR", str(tmp_path))
    settings = Settings(_secrets_dir=tmp_path)
    assert settings.kafka_sasl_password is not None
    assert settings.kafka_sasl_password.get_secret_value() == "from-a-file"


def test_production_refuses_the_placeholder_author_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINSENT_ENVIRONMENT", "production")
    with pytest.raises(ValueError, match="FINSENT_AUTHOR_HASH_KEY"):
        Settings()
    monkeypatch.setenv("FINSENT_AUTHOR_HASH_KEY", "a-real-key")
    assert Settings().environment == "production"


def test_config_command_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINSENT_KAFKA_SASL_PASSWORD", "hunter2")
    monkeypatch.setenv("FINSENT_AUTHOR_HASH_KEY", "key-value-xyz")
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == 0
    assert "hunter2" not in result.output and "key-value-xyz" not in result.output
    assert "**********" in result.output


def test_config_command_masks_credentials_in_every_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINSENT_GRAFANA_URL", "https://admin:grafpw@grafana.example.com/")
    monkeypatch.setenv("FINSENT_STORE_URL", "clickhouse://finsent:dbpw@db:9000/finsent")
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == 0
    assert "grafpw" not in result.output and "dbpw" not in result.output and "admin" not in result.output
    assert "https://**********@grafana.example.com/" in result.output


def test_kafka_sasl_ssl_settings_reach_both_clients(tmp_path: Path) -> None:
    settings = Settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="svc",
        kafka_sasl_password="pw",
    )
    config = kafka_client_config(settings.kafka, "k1:9093,k2:9093")
    assert config["bootstrap_servers"] == ["k1:9093", "k2:9093"]
    assert (config["security_protocol"], config["sasl_mechanism"]) == ("SASL_SSL", "SCRAM-SHA-512")
    assert (config["sasl_plain_username"], config["sasl_plain_password"]) == ("svc", "pw")
    credentials = broker_credentials(settings.kafka.security)
    assert credentials is not None
    assert credentials.username == "svc"
    assert credentials.ssl_context is not None


def test_plaintext_needs_no_credentials() -> None:
    assert broker_credentials(Settings().kafka.security) is None
    assert kafka_client_config(Settings().kafka, "localhost:9092")["security_protocol"] == "PLAINTEXT"


def test_an_empty_secret_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINSENT_GRAFANA_TOKEN", "")
    assert Settings().grafana_token is None


def test_each_component_receives_its_slice_without_printing_secrets(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        api_max_texts=5,
        batch_max_size=64,
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_password="kafka-s3cret",
        grafana_url="https://grafana.test",
        grafana_token="grafana-s3cret",
        scores_topic="prod.scores",
    )
    assert settings.api.max_texts == 5 and settings.batching.max_size == 64
    assert settings.kafka.topics.scores == "prod.scores" and settings.kafka.security.password == "kafka-s3cret"
    assert settings.alerting.rules_file == settings.api.rules_file == tmp_path / "rules.yaml"
    assert settings.alerting.grafana.url == "https://grafana.test"
    for view in (settings.kafka, settings.alerting, settings.api, settings.grafana):
        assert "s3cret" not in repr(view)


def test_a_key_budget_below_one_request_is_refused() -> None:
    with pytest.raises(ValueError, match="FINSENT_API_KEY_TOKENS_PER_MIN must be at least"):
        Settings(api_key_tokens_per_min=1_000, api_max_request_tokens=2_000)
