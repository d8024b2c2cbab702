"""`finsent demo` end to end, as a user runs it (subprocess, embedded broker and chdb)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_demo_reconciles_every_message(tiny_model_dir: Path, tmp_path: Path) -> None:
    env = {**os.environ, "FINSENT_MODEL": str(tiny_model_dir), "FINSENT_MODEL_BACKEND": "onnx-int8"}
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
    assert summary["ok"] is True
