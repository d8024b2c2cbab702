"""``finsent data synthetic`` writes the generator's rows and prints one summary line."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from finsent.cli import main
from models.train.synthetic import synthetic_events


def test_data_synthetic_writes_the_rows_and_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "synthetic.jsonl"
    result = CliRunner().invoke(main, ["data", "synthetic", "--out", str(out), "--n", "60", "--seed", "5"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip())
    written = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert written == synthetic_events(60, seed=5)
    assert summary["rows"] == 60 and summary["entities"] == sum(len(row["entities"]) for row in written)
    assert sum(summary["entity_labels"].values()) == summary["entities"]


def test_data_synthetic_refuses_a_zero_count(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["data", "synthetic", "--out", str(tmp_path / "x.jsonl"), "--n", "0"])
    assert result.exit_code == 2
    assert not (tmp_path / "x.jsonl").exists()
