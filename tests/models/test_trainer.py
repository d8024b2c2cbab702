"""The training loop's seams: the evaluator passed in picks the checkpoint; the loop resumes from its saved state.

A few of these run ``Trainer`` on a two-layer stand-in encoder (milliseconds); the last one
passes an evaluator through ``train`` on the tiny fixture.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from config.errors import FinsentError
from models.exceptions import ModelConfigError, TrainingStopped
from models.network import MultiTaskClassifier
from models.train import HeadEvaluator, MeanEvaluator, TrainConfig, train
from models.train.build import build_optimizer
from models.train.examples import MISSING, Examples
from models.train.losses import HeadLoss, JointLoss
from models.train.trainer import Progress, Trainer, trainable_state

VOCAB, HIDDEN = 12, 8
TASKS = ("sentiment", "topic")
CLASSES = {"sentiment": ("negative", "neutral", "positive"), "topic": ("Dividend", "Earnings")}


class StandInEncoder(nn.Module):
    """What ``MultiTaskClassifier`` needs of a transformer: ``config.hidden_size`` and ``last_hidden_state``."""

    def __init__(self) -> None:
        super().__init__()
        self.config = SimpleNamespace(hidden_size=HIDDEN)
        self.embedding = nn.Embedding(VOCAB, HIDDEN)
        self.mix = nn.Linear(HIDDEN, HIDDEN)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> SimpleNamespace:
        return SimpleNamespace(last_hidden_state=torch.tanh(self.mix(self.embedding(input_ids))))


def _examples() -> Examples:
    """Twelve texts: the token says the sentiment, every other text also has a topic."""
    token_ids = [[1 + i % 3, 4 + i % 2, 6 + i % 5][: 1 + i % 3] for i in range(12)]
    sentiment = np.array([ids[0] - 1 for ids in token_ids], dtype=np.int64)
    topic = np.array([(i // 2) % 2 if i % 2 == 0 else MISSING for i in range(12)], dtype=np.int64)
    return Examples([f"text {i}" for i in range(12)], token_ids, {"sentiment": sentiment, "topic": topic})


def _config(out: Path, **overrides: Any) -> TrainConfig:
    options: dict[str, Any] = {
        "sentiment_train": Path("s"), "sentiment_val": Path("s"), "topic_train": Path("t"), "topic_val": Path("t"),
        "out_dir": out, "epochs": 2, "checkpoints_per_epoch": 2, "batch_size": 4, "learning_rate": 1e-2,
        "patience": 10, "method": "full",
    }  # fmt: skip
    options.update(overrides)
    return TrainConfig(**options)


def _loss() -> JointLoss:
    return JointLoss([HeadLoss(task, nn.CrossEntropyLoss(ignore_index=MISSING, reduction="sum")) for task in TASKS])


def _trainer(config: TrainConfig, evaluator: Any, examples: Examples | None = None, **options: Any) -> Trainer:
    torch.manual_seed(0)
    model = MultiTaskClassifier(StandInEncoder(), n_topics=2, n_sentiments=3)
    optimizer, scheduler = build_optimizer(model, config, total_steps=3 * config.epochs)
    return Trainer(model, config, examples or _examples(), _loss(), evaluator, optimizer, scheduler, **options)


class ScriptedEvaluator:
    """Scores the checkpoints from a script, and remembers the weights it saw at each."""

    name = "scripted"
    primary_metric = "score"

    def __init__(self, scores: list[float | None]) -> None:
        self.scores = scores
        self.seen: list[dict[str, torch.Tensor]] = []

    def __call__(self, model: nn.Module) -> dict[str, Any]:
        self.seen.append(trainable_state(model))
        return {"score": self.scores[len(self.seen) - 1], "calls": len(self.seen)}


def test_the_evaluators_primary_metric_picks_the_checkpoint(tmp_path: Path) -> None:
    evaluator = ScriptedEvaluator([0.2, 0.9, 0.5, 0.4])  # 3 batches an epoch: checkpoints at 2/3 and 3/3
    kept: list[float] = []
    trainer = _trainer(_config(tmp_path), evaluator, on_best=lambda progress: kept.append(progress.best_at))
    state = trainer.run()

    assert [h["calls"] for h in state.history] == [1, 2, 3, 4]
    assert [h["score"] for h in state.history] == [0.2, 0.9, 0.5, 0.4]
    assert [h["at"] for h in state.history] == [0.67, 1.0, 1.67, 2.0]
    assert state.best_at == 1.0 and state.best_score == 0.9 and kept == [0.67, 1.0]
    best = trainer.best_weights()
    for name, weights in evaluator.seen[1].items():
        torch.testing.assert_close(best[name], weights, rtol=0, atol=0, msg=name)
    assert not torch.equal(best["sentiment_head.weight"], evaluator.seen[3]["sentiment_head.weight"])


def test_without_a_score_the_last_checkpoint_is_kept(tmp_path: Path) -> None:
    state = _trainer(_config(tmp_path), ScriptedEvaluator([None] * 4)).run()
    assert state.best_at == 2.0
    assert [h["score"] for h in state.history] == [h["at"] for h in state.history]


def test_patience_stops_the_run_after_checkpoints_without_a_better_score(tmp_path: Path) -> None:
    state = _trainer(_config(tmp_path, epochs=5, patience=2), ScriptedEvaluator([0.5, 0.4, 0.3, 0.9] + [1.0] * 6)).run()
    assert len(state.history) == 3 and state.done and state.best_at == 0.67


def test_the_loop_resumes_from_its_saved_state_to_the_same_weights(tmp_path: Path) -> None:
    examples = _examples()
    unbroken_config, broken_config = _config(tmp_path / "unbroken"), _config(tmp_path / "broken")

    def holdout() -> MeanEvaluator:
        return MeanEvaluator([HeadEvaluator(task, examples, CLASSES[task]) for task in TASKS])

    unbroken = _trainer(unbroken_config, holdout(), examples)
    unbroken.run()
    with pytest.raises(TrainingStopped):
        _trainer(broken_config, holdout(), examples).run(stop_after_steps=4)  # past the checkpoint of step 3
    resumed = _trainer(broken_config, holdout(), examples)
    assert resumed.resume() and (resumed.state.global_step, resumed.state.next_batch) == (3, 3)
    resumed.run()

    strip = [{k: v for k, v in h.items() if k != "seconds"} for h in unbroken.state.history]
    assert [{k: v for k, v in h.items() if k != "seconds"} for h in resumed.state.history] == strip
    assert set(strip[0]) >= {"holdout_score", "sentiment", "topic", "train_loss"}
    for name, weights in trainable_state(unbroken.model).items():
        torch.testing.assert_close(trainable_state(resumed.model)[name], weights, rtol=0, atol=1e-6, msg=name)


def test_a_finished_run_resumed_does_not_train_again(tmp_path: Path) -> None:
    config = _config(tmp_path)
    first = _trainer(config, ScriptedEvaluator([0.1, 0.2, 0.3, 0.4])).run()
    again = _trainer(config, ScriptedEvaluator([]))
    assert again.resume()
    assert again.run() == first


def test_the_mean_evaluator_leaves_out_heads_without_a_score() -> None:
    class Fixed:
        primary_metric = "macro_f1"

        def __init__(self, name: str, f1: float | None) -> None:
            self.name, self.f1 = name, f1

        def __call__(self, model: nn.Module) -> dict[str, Any]:
            return {"accuracy": 0.5, "macro_f1": self.f1, "n": 3}

    result = MeanEvaluator([Fixed("sentiment", 0.6), Fixed("topic", None), Fixed("entity", 0.8)])(nn.Identity())
    assert result == {
        "holdout_score": 0.7,
        "sentiment": {"accuracy": 0.5, "macro_f1": 0.6},
        "topic": {"accuracy": 0.5, "macro_f1": None},
        "entity": {"accuracy": 0.5, "macro_f1": 0.8},
    }
    assert MeanEvaluator([Fixed("topic", None)])(nn.Identity())["holdout_score"] is None


def test_a_missing_best_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelConfigError, match="never reached its first checkpoint"):
        _trainer(_config(tmp_path), ScriptedEvaluator([])).best_weights()


def test_training_errors_belong_to_the_error_tree() -> None:
    assert issubclass(TrainingStopped, FinsentError)
    with pytest.raises(ModelConfigError, match="method must be 'lora' or 'full'"):
        _config(Path("o"), method="adapter")
    assert Progress().done is False


def test_train_keeps_the_checkpoint_an_evaluator_passed_in_scores_best(
    tiny_data: dict[str, Path], tmp_path: Path
) -> None:
    evaluator = ScriptedEvaluator([0.3, 0.8, 0.1, 0.2])
    config = TrainConfig(
        sentiment_train=tiny_data["sentiment"], sentiment_val=tiny_data["sentiment"], topic_train=tiny_data["topic"],
        topic_val=tiny_data["topic"], out_dir=tmp_path / "run", epochs=1, checkpoints_per_epoch=4, batch_size=8,
        learning_rate=3e-3, holdout_fraction=0.0, model_version="evaluator-test",
    )  # fmt: skip
    result = train(config, progress=False, evaluator=lambda data: evaluator)

    assert [h["score"] for h in result.metrics["history"]] == [0.3, 0.8, 0.1, 0.2]
    assert result.best_epoch == result.metrics["history"][1]["at"] == 0.5
    heads = load_file(str(tmp_path / "run" / "heads.safetensors"))
    for name in ("sentiment_head.weight", "topic_head.bias"):
        torch.testing.assert_close(heads[name], evaluator.seen[1][name], rtol=0, atol=0, msg=name)
