"""A real worker evaluates alert rules over finsent.scores, stores, emits and delivers what fires."""

from __future__ import annotations

import html
import time
from pathlib import Path

import pytest

from alerts.rules import Rule, save_rules
from finsent.dev.broker import EmbeddedBroker
from schemas.alerts import AlertRecord
from storage import open_store
from storage.alerts import alerts_by_id
from tests.fakes.grafana import TOKEN, FakeGrafana
from tests.streams.feed import send_feed, start_worker
from tests.streams.test_worker_integration import chdb_url, read_topic, wait_for

pytestmark = pytest.mark.integration

# Volume, not sentiment: the tiny test model's sentiment is not reliable, the burst's size is.
BURST_VOLUME = Rule(
    id="nvda-volume",
    scope="symbol",
    target="NVDA",
    metric="volume",
    window="5m",
    hop="30s",
    comparison=">=",
    threshold=30,
    min_docs=30,
    severity="critical",
    cooldown="1h",
)


def test_the_scripted_burst_fires_one_alert_that_reaches_grafana(
    broker: EmbeddedBroker, worker_env: dict[str, str], tmp_path: Path
) -> None:
    data_dir = Path(worker_env["FINSENT_DATA_DIR"])
    save_rules(data_dir / "rules.yaml", [BURST_VOLUME])
    with FakeGrafana() as grafana:
        env = worker_env | {"FINSENT_GRAFANA_URL": grafana.url, "FINSENT_GRAFANA_TOKEN": TOKEN}
        worker = start_worker(env, tmp_path / "worker.log")
        feed = send_feed(broker.bootstrap, docs=300, bad_ratio=0.0, seed=11)
        wait_for([worker], "stored_documents", len(feed.valid_ids))
        wait_for([worker], "alerts_fired", 1, timeout_s=60)
        deadline = time.monotonic() + 30
        while not grafana.annotations_tagged("rule:nvda-volume") and time.monotonic() < deadline:
            time.sleep(0.25)
        worker.stop()
        annotations = grafana.annotations_tagged("rule:nvda-volume")

    emitted = [AlertRecord.model_validate_json(raw) for raw in read_topic(broker.bootstrap, "finsent.alerts")]
    assert [(a.rule_id, a.symbol, a.severity) for a in emitted] == [("nvda-volume", "NVDA", "critical")]
    assert emitted[0].doc_count >= 30 and emitted[0].headlines
    with open_store(chdb_url(worker_env)) as store:
        rows = alerts_by_id(store, [emitted[0].alert_id])
    assert rows[emitted[0].alert_id].delivery_state == "delivered"
    assert len(annotations) == 1
    assert {"finsent", "symbol:NVDA", "severity:critical"} <= set(annotations[0]["tags"])
    assert "volume" in annotations[0]["text"]
    assert html.escape(emitted[0].headlines[0][:40], quote=False) in annotations[0]["text"]
