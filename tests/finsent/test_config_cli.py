"""``finsent config`` prints what finsent will use: values resolved at run time filled in, secrets masked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from finsent.cli import main

UNSET = ("FINSENT_STORE_URL", "FINSENT_MODEL", "FINSENT_MODEL_REGISTRY_DIR", "FINSENT_ALERT_RULES_FILE",
         "FINSENT_KAFKA_BOOTSTRAP", "FINSENT_WEB_PORT")  # fmt: skip


def config(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, object]:
    for name in UNSET:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == 0, result.output
    shown: dict[str, object] = json.loads(result.output)
    return shown


def test_values_resolved_at_run_time_are_shown_not_null(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shown = config(monkeypatch, FINSENT_DATA_DIR=str(tmp_path), FINSENT_DEVICE="cpu")
    assert shown["store_url"] == f"chdb://{tmp_path.resolve() / 'chdb'}"
    assert shown["model"] == "finsent-minilm", "the shipped CPU default"
    assert shown["model_registry_dir"] == str(tmp_path.resolve() / "models")
    assert shown["alert_rules_file"] == str(tmp_path.resolve() / "rules.yaml")
    assert shown["data_dir"] == str(tmp_path.resolve())
    for name in ("store_url", "model", "model_registry_dir", "alert_rules_file", "kafka_bootstrap", "web_port"):
        assert shown[name] is not None, name


def test_configured_values_win_and_secrets_stay_masked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shown = config(monkeypatch, FINSENT_DATA_DIR=str(tmp_path), FINSENT_MODEL="finsent-mpnet",
                   FINSENT_STORE_URL="clickhouse://finsent:dbpw@db:9000/finsent", FINSENT_STORE_PASSWORD="s3cret",
                   FINSENT_KAFKA_BOOTSTRAP="kafka:9092", FINSENT_GRAFANA_TOKEN="glsa_token")  # fmt: skip
    assert (shown["model"], shown["kafka_bootstrap"]) == ("finsent-mpnet", "kafka:9092")
    assert shown["store_url"] == "clickhouse://**********@db:9000/finsent"
    text = json.dumps(shown)
    assert "dbpw" not in text and "s3cret" not in text and "glsa_token" not in text


def test_the_routes_in_force_are_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FINSENT_ROUTES", raising=False)
    assert config(monkeypatch, FINSENT_DATA_DIR=str(tmp_path), FINSENT_DEVICE="cpu")["routes"] == "news=finsent-mpnet"
    assert config(monkeypatch, FINSENT_DATA_DIR=str(tmp_path), FINSENT_MODEL="finsent-mpnet")["routes"] == "none"
    routes = "social:x=finsent-mpnet,news=default"
    assert config(monkeypatch, FINSENT_DATA_DIR=str(tmp_path), FINSENT_ROUTES=routes)["routes"] == routes
