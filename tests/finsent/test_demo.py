"""`finsent demo` end to end, as a user runs it (subprocess, embedded broker and chdb)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from alerts.rules import Rule, save_rules
from finsent.demo import BURST_RULE

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
    assert summary["docs_per_s"] > 0
    assert summary["alerts"] >= 1 and summary["alert_latency_s"] is not None
    assert summary["alert_after_burst_start_s"] >= summary["alert_latency_s"] >= 0
    assert summary["ok"] is True
