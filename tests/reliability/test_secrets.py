"""Secrets set in the environment never show up in logs, error messages, /metrics or printed config."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from alerts.rules import Rule, save_rules
from api.app import ClassifierSource, create_app
from api.keys import KeyRing
from config import Settings
from finsent.dev.broker import EmbeddedBroker, free_port
from storage import open_store
from tests.api.conftest import secret_of
from tests.fakes.grafana import FakeGrafana
from tests.streams.feed import send_feed, start_worker
from tests.streams.test_worker_integration import wait_for

SECRETS = {
    "FINSENT_GRAFANA_TOKEN": "grafana-SECRET-7f3a",
    "FINSENT_STORE_PASSWORD": "store-SECRET-91bc",
    "FINSENT_KAFKA_SASL_PASSWORD": "kafka-SECRET-55e0",
    "FINSENT_AUTHOR_HASH_KEY": "author-SECRET-0d42",
}


def assert_no_secret(text: str, *extra: str) -> None:
    for secret in (*SECRETS.values(), *extra):
        assert secret not in text


def test_printed_config_masks_every_secret(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", **SECRETS, "FINSENT_DATA_DIR": str(tmp_path),
           "FINSENT_STORE_URL": "clickhouse://finsent@db.internal:9000/finsent"}  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "finsent.cli", "config"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert_no_secret(done.stdout + done.stderr)
    shown = json.loads(done.stdout)
    assert shown["grafana_token"] == "**********" and shown["store_password"] == "**********"


def test_api_errors_metrics_and_logs_carry_no_secret(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with open_store(f"chdb://{tmp_path / 'chdb'}") as store:
        store.init_schema()
        _, api_key = KeyRing(store).create("ops", "admin")
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=tmp_path,
            grafana_url=f"http://127.0.0.1:{free_port()}",  # nothing listens: Grafana is down
            grafana_token=SECRETS["FINSENT_GRAFANA_TOKEN"],
            store_password=SECRETS["FINSENT_STORE_PASSWORD"],
        )
        client = TestClient(create_app(settings.api, store, ClassifierSource(lambda: None)))  # type: ignore[arg-type,return-value]
        headers = {"Authorization": f"Bearer {api_key}"}
        answers = [
            client.get("/v1/subscriptions", headers=headers),
            client.post("/v1/subscriptions", json={"rule": "r", "email": "a@example.com"}, headers=headers),
            client.get("/v1/alerts", headers={"Authorization": "Bearer " + api_key[:-3] + "xyz"}),
            client.get("/metrics"),
            client.get("/healthz"),
        ]
    assert [answer.status_code for answer in answers] == [503, 503, 401, 200, 200]
    secret = secret_of(api_key)
    assert_no_secret("\n".join(answer.text for answer in answers) + caplog.text, secret)


@pytest.mark.integration
def test_worker_log_carries_no_secret_while_grafana_is_down(
    broker: EmbeddedBroker, worker_env: dict[str, str], tmp_path: Path
) -> None:
    data_dir = Path(worker_env["FINSENT_DATA_DIR"])
    save_rules(data_dir / "rules.yaml", [Rule(id="vol", scope="symbol", target="NVDA", metric="volume",
                                              comparison=">=", threshold=30, min_docs=30)])  # fmt: skip
    with FakeGrafana(token=SECRETS["FINSENT_GRAFANA_TOKEN"]) as grafana:
        grafana.down(503)
        env = worker_env | SECRETS | {"FINSENT_GRAFANA_URL": grafana.url, "FINSENT_LOG_LEVEL": "DEBUG"}
        worker = start_worker(env, tmp_path / "worker.log")
        send_feed(broker.bootstrap, docs=200, bad_ratio=0.1, seed=12)
        wait_for([worker], "alerts_fired", 1, timeout_s=120)
        time.sleep(3)  # a few delivery attempts against the failing Grafana
        worker.stop()
    log_text = worker.log_file.read_text(errors="replace")
    assert "delivery paused" in log_text  # the failure was logged...
    assert_no_secret(log_text)  # ...without the token or any other secret
