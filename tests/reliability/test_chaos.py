"""``finsent chaos``, small: SIGKILL the worker mid-stream and check nothing is lost or counted twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from finsent.dev.chaos import ChaosOptions, run_chaos

pytestmark = pytest.mark.integration


def test_two_kills_lose_nothing_and_count_nothing_twice(tiny_model_dir: Path) -> None:
    result = run_chaos(ChaosOptions(kills=2, docs=600, rate=200, model=str(tiny_model_dir), backend="onnx-int8"))
    assert result["produced"] == 600 and result["kills"] == 2
    assert (result["lost"], result["duplicates"]) == (0, 0)
    assert result["stored_distinct"] == result["stored_rows_final"] == result["valid"] > 500
    assert result["ok"] is True and result["max_recovery_s"] > 0
