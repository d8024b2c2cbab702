"""``finsent retrain`` on tiny data: a challenger from the champion, judged on the evaluation sets and newest labels."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from learning.registry import Registry
from learning.retrain import RetrainOptions, decide, retrain, split_by_time
from models.corpora import corpora
from storage import Store
from tests.learning.conftest import T0

pytestmark = pytest.mark.integration
FAST = {"epochs": 3, "learning_rate": 3e-3, "batch_size": 8, "tolerance": 0.2}


def test_decide_needs_no_loss_anywhere_and_a_gain_on_the_labels() -> None:
    champion = {"tweets": 0.80, "news": 0.60, "labels_sentiment": 0.40}
    assert decide(champion, champion | {"labels_sentiment": 0.90}, 0.01)[0] is True
    refused, reason = decide(champion, {"tweets": 0.70, "news": 0.60, "labels_sentiment": 0.90}, 0.01)
    assert not refused and reason.startswith("worse on tweets 0.700 < 0.800")
    assert decide(champion, champion | {"tweets": 0.795}, 0.01)[0] is False, "no gain on the labels"
    assert "held-out labels" in decide(champion, champion, 0.01)[1]


def test_the_newest_labels_are_the_test() -> None:
    rows = [{"doc_id": f"d{i}", "labelled_at": T0 + timedelta(minutes=i)} for i in range(8)]
    train, test = split_by_time(list(reversed(rows)), 0.25)
    assert [r["doc_id"] for r in test] == ["d6", "d7"] and len(train) == 6
    assert split_by_time(rows[:1], 0.25) == (rows[:1], [])


def test_a_retrain_round_registers_the_challenger_and_decides(
    labelled_store: Store, data_root: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    registry = Registry(labelled_store, tmp_path / "registry")
    report = retrain(registry, corpora(data_root), str(tiny_model_dir), RetrainOptions(**FAST))
    assert report.decision == "promoted", report
    assert report.champion == "tiny-test" and report.challenger is not None
    assert set(report.figures["champion"]) == {"tweets_sentiment", "tweets_topic", "news_headlines", "labels_sentiment"}
    assert report.summary["train_examples"]["labels_sentiment"] == 15 and report.summary["label_test_examples"] == {
        "sentiment": 5, "topic": 0}  # fmt: skip
    versions = {row.version: row for row in registry.versions()}
    assert set(versions) == {"tiny-test", report.challenger}
    challenger = versions[report.challenger]
    assert challenger.parent == "tiny-test" and json.loads(challenger.metrics)["decision"] == report.decision
    card = (Path(challenger.path) / "README.md").read_text()
    assert "Fine-tuned again from `tiny-test`" in card and "15 sentiment and 0 topic labels" in card
    active = registry.active()
    assert (active.version if active else None) == (report.challenger if report.decision == "promoted" else None)
    print(json.dumps(report.to_json(), default=str))
    again = retrain(registry, corpora(data_root), str(tiny_model_dir), RetrainOptions(**FAST, min_new_labels=1))
    assert again.decision == "skipped" and "0 documents labelled since the last training round" in again.reason
