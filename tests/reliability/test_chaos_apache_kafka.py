"""``finsent chaos --broker apache-kafka``, small: every restarted worker rejoins the one consumer group."""

from __future__ import annotations

from pathlib import Path

import pytest

from finsent.dev.apache_kafka import ApacheKafkaBroker
from finsent.dev.chaos import ChaosOptions, run_chaos

pytestmark = pytest.mark.integration


def test_two_kills_in_one_group_lose_nothing_and_count_nothing_twice(
    apache_kafka: ApacheKafkaBroker, tiny_model_dir: Path
) -> None:
    # 20 messages/s: the feed lasts 30 s, so both kills land while it streams in.
    options = ChaosOptions(kills=2, docs=600, rate=20, model=str(tiny_model_dir), backend="onnx-int8",
                           broker="apache-kafka", bootstrap=apache_kafka.bootstrap)  # fmt: skip
    result = run_chaos(options)
    print(result)
    assert (result["broker"], result["consumer_groups"], result["kills"]) == ("apache-kafka", 1, 2)
    assert (result["lost"], result["duplicates"]) == (0, 0), result
    assert result["stored_distinct"] == result["stored_rows_final"] == result["valid"] > 500
    # Resumed from committed offsets: at most what was handled since the last commit is read again,
    # far from the whole feed a new group would re-read.
    assert 0 <= result["reread_after_restart"] < result["produced"]
    outputs = result["outputs"]
    assert outputs["scores_missing_docs"] == 0
    assert outputs["scores"]["keys"] >= result["valid"] and outputs["alert_inputs"]["keys"] > 0
    # Copies of an output record name the same document (only its scores may move a little).
    assert outputs["scores"]["conflicting"] == outputs["alert_inputs"]["conflicting"] == 0, outputs
    assert result["ok"] is True and result["max_recovery_s"] > 0
