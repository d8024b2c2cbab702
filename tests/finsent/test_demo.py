"""`finsent demo` end to end, as a user runs it (subprocess, embedded broker and chdb)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.rules import Rule, save_rules
from config import Settings
from finsent.dev.demo import BURST, BURST_RULE, BURST_SYMBOLS, pick_burst
from ingest.universe import COMPANIES
from schemas import DocumentRow
from schemas.alerts import AlertRecord, AlertRow
from storage import open_store
from storage.alerts import insert_alerts

pytestmark = pytest.mark.integration


def test_demo_reconciles_every_message_and_alerts_on_the_burst(tiny_model_dir: Path, tmp_path: Path) -> None:
    # The tiny test model's sentiment is unreliable, so the demo's burst rule is swapped for a volume
    # rule under the same id: what is checked is the alert path, not the model.
    rules = tmp_path / "rules.yaml"
    save_rules(
        rules, [Rule(id=BURST_RULE, scope="symbol", metric="volume", comparison=">=", threshold=30, min_docs=30)]
    )
    env = {
        **os.environ,
        "FINSENT_MODEL": str(tiny_model_dir),
        "FINSENT_MODEL_BACKEND": "onnx-int8",
        "FINSENT_ALERT_RULES_FILE": str(rules),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "finsent.cli",
            "demo",
            "--docs",
            "500",
            "--bad-ratio",
            "0.05",
            "--rate",
            "1000",
            "--data-dir",
            str(tmp_path / "demo"),
            "--no-live",
            "--seed",
            "11",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["produced"] == 500
    assert summary["stored_documents"] == summary["valid"]
    assert summary["valid"] + summary["dead_letters"] == summary["produced"]
    assert summary["dead_letters"] > 0
    assert summary["score_rows"] >= summary["stored_documents"]
    assert summary["copies_sent"] > 0  # the feed syndicates and reposts some headlines
    assert 0 < summary["stories"] < summary["stored_documents"]  # copies (and the burst's repeats) join stories
    assert summary["docs_per_s"] > 0
    assert summary["alerts"] >= 1 and summary["alert_latency_s"] is not None
    assert summary["alert_after_burst_start_s"] >= summary["alert_latency_s"] >= 0
    assert summary["ok"] is True


def stored_burst_alert(data_dir: Path, symbol: str, minutes_ago: float) -> None:
    alert = AlertRecord(
        rule_id=BURST_RULE, severity="warning", scope="symbol", symbol=symbol, metric="negative_share",
        comparison=">=", value=0.8, threshold=0.6, window_s=300, doc_count=40,
        fired_at=datetime.now(UTC) - timedelta(minutes=minutes_ago), headlines=["shares slide"],
    )  # fmt: skip
    with open_store(f"chdb://{(data_dir / 'chdb').resolve()}") as store:
        store.init_schema()
        insert_alerts(store, [AlertRow.pending(alert)])


def recent_document(data_dir: Path, symbol: str) -> None:
    now = datetime.now(UTC)
    document = DocumentRow(
        doc_id=f"news:{symbol}", kind="news", source="wire", event_time=now, ingested_at=now, headline="h",
        body="", url="", author_hash="", symbols=[symbol], content_hash="c", topic="Earnings",
        topic_confidence=0.9, sentiment=0, p_negative=0.2, p_neutral=0.6, p_positive=0.2, score=0.0,
        model_version="m",
    )  # fmt: skip
    with open_store(f"chdb://{(data_dir / 'chdb').resolve()}") as store:
        store.insert_documents([document])


def test_a_second_demo_bursts_on_a_symbol_the_rule_may_still_fire_for(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    assert pick_burst(settings) == (replace(BURST, symbol=BURST_SYMBOLS[0]), True)
    stored_burst_alert(tmp_path, BURST_SYMBOLS[0], minutes_ago=5)  # an earlier run, within the 30 m cooldown
    # Past the cooldown but within the story window: this run's burst would be copies of that one's stories.
    stored_burst_alert(tmp_path, BURST_SYMBOLS[1], minutes_ago=300)
    stored_burst_alert(tmp_path, BURST_SYMBOLS[2], minutes_ago=25 * 60)  # long ago: may fire again
    assert pick_burst(settings) == (replace(BURST, symbol=BURST_SYMBOLS[2]), True)
    recent_document(tmp_path, BURST_SYMBOLS[2])  # an earlier run's news would dilute the burst
    assert pick_burst(settings) == (replace(BURST, symbol=BURST_SYMBOLS[3]), True)
    for symbol in BURST_SYMBOLS:
        stored_burst_alert(tmp_path, symbol, minutes_ago=1)
    assert pick_burst(settings) == (BURST, False)  # every symbol cooling down: no alert expected
    assert pick_burst(settings.model_copy(update={"alerts_enabled": False})) == (BURST, False)


def test_the_feed_mentions_no_burst_symbol_but_the_first() -> None:
    assert {c.symbol for c in COMPANIES} & set(BURST_SYMBOLS) == {BURST_SYMBOLS[0]}
