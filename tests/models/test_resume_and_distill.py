"""Training resumes where it stopped, to the same weights; a student learns from a teacher's logits."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from models import Classifier
from models.artifact import ModelSpec
from models.exceptions import ModelConfigError, TrainingStopped
from models.train import TrainConfig, load_config, train
from models.train.examples import MISSING, Batch
from models.train.losses import JointLoss, joint_loss
from models.train.trainer import checkpoint_marks

TEXTS = ["Acme shares plunge after weak guidance", "Globex beats estimates and raises guidance"]


def _config(tiny_data: dict[str, Path], out: Path, **overrides: object) -> TrainConfig:
    options: dict[str, object] = {
        "sentiment_train": tiny_data["sentiment"],
        "sentiment_val": tiny_data["sentiment"],
        "topic_train": tiny_data["topic"],
        "topic_val": tiny_data["topic"],
        "out_dir": out,
        "epochs": 2,
        "checkpoints_per_epoch": 2,
        "batch_size": 8,
        "learning_rate": 3e-3,
        "holdout_fraction": 0.2,
        "model_version": "resume-test",
    }
    options.update(overrides)
    return TrainConfig(**options)  # type: ignore[arg-type]


def _weights(directory: Path) -> dict[str, torch.Tensor]:
    return load_file(str(directory / "heads.safetensors")) | load_file(
        str(directory / "adapter" / "adapter_model.safetensors")
    )


def test_a_stopped_run_resumes_to_the_same_result(tiny_data: dict[str, Path], tmp_path: Path) -> None:
    unbroken = train(_config(tiny_data, tmp_path / "unbroken"), progress=False)

    broken = _config(tiny_data, tmp_path / "broken")
    with pytest.raises(TrainingStopped):
        train(broken, progress=False, stop_after_steps=6)  # past the first checkpoint (step 4 of 8)
    assert (tmp_path / "broken" / "checkpoint" / "state.pt").is_file()
    resumed = train(load_config(tmp_path / "broken"), progress=False, resume=True)

    assert resumed.metrics["history"] == unbroken.metrics["history"] or [
        {k: v for k, v in h.items() if k != "seconds"} for h in resumed.metrics["history"]
    ] == [{k: v for k, v in h.items() if k != "seconds"} for h in unbroken.metrics["history"]]
    assert resumed.metrics["validation"]["sentiment"] == unbroken.metrics["validation"]["sentiment"]
    a, b = _weights(tmp_path / "unbroken"), _weights(tmp_path / "broken")
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=1e-6, msg=name)


def test_resuming_a_finished_run_changes_nothing(tiny_data: dict[str, Path], tmp_path: Path) -> None:
    first = train(_config(tiny_data, tmp_path / "run", epochs=1), progress=False)
    again = train(load_config(tmp_path / "run"), progress=False, resume=True)
    assert again.metrics["history"] == first.metrics["history"]


def test_checkpoints_split_an_epoch_evenly() -> None:
    assert checkpoint_marks(10, 2) == {5, 10}
    assert checkpoint_marks(7, 3) == {3, 5, 7}
    assert checkpoint_marks(2, 5) == {1, 2}


def test_calibration_and_ece_are_reported(tiny_data: dict[str, Path], tmp_path: Path) -> None:
    train(_config(tiny_data, tmp_path / "run", epochs=1), progress=False)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    spec = ModelSpec.from_dir(tmp_path / "run")
    for task in ("sentiment", "topic"):
        report = metrics["calibration"][task]
        assert report["temperature"] == spec.temperatures[task] > 0
        assert {"holdout_ece_before", "holdout_ece_after", "validation_ece_before", "validation_ece_after"} <= set(
            report
        )
    assert spec.text_normaliser == "demojize+strip-urls"


def test_distilled_student_learns_the_teacher(tiny_model_dir: Path, tiny_data: dict[str, Path], tmp_path: Path) -> None:
    config = _config(
        tiny_data,
        tmp_path / "student",
        teacher=tiny_model_dir,
        epochs=6,
        patience=12,
        holdout_fraction=0.0,
        model_version="student-test",
    )
    result = train(config, progress=False)
    assert (tmp_path / "student" / "checkpoint" / "teacher_logits.npz").is_file()
    assert result.metrics["validation"]["sentiment"]["accuracy"] >= 0.8
    teacher = Classifier.load(tiny_model_dir, backend="torch-fp32").predict(TEXTS)
    student = Classifier.load(tmp_path / "student", backend="torch-fp32").predict(TEXTS)
    assert [p.sentiment_label for p in student] == [p.sentiment_label for p in teacher]
    assert student[0].model_version == "student-test+torch-fp32"


def test_shipping_quarters_the_adapter_and_keeps_the_predictions(tiny_model_dir: Path, tmp_path: Path) -> None:
    from models.artifact import INT8_ADAPTER_WEIGHTS, ModelSpec, load_lora_encoder
    from models.ship import ship_model

    files = ship_model(tiny_model_dir, tmp_path / "shipped")
    names = {p.relative_to(tmp_path / "shipped").as_posix() for p in files}
    assert {"finsent_model.json", "heads.safetensors", f"adapter/{INT8_ADAPTER_WEIGHTS}", "README.md"} <= names
    assert not any("checkpoint" in n or ".cache" in n for n in names)
    source = (tiny_model_dir / "adapter" / "adapter_model.safetensors").stat().st_size
    assert (tmp_path / "shipped" / "adapter" / INT8_ADAPTER_WEIGHTS).stat().st_size < 0.3 * source
    original = Classifier.load(tiny_model_dir, backend="torch-fp32").predict(TEXTS)
    shipped = Classifier.load(tmp_path / "shipped", backend="torch-fp32").predict(TEXTS)
    for a, b in zip(original, shipped, strict=True):
        assert a.sentiment_label == b.sentiment_label
        assert b.score == pytest.approx(a.score, abs=1e-2)
    base = ModelSpec.from_dir(tmp_path / "shipped").base_model
    retrainable = load_lora_encoder(tmp_path / "shipped" / "adapter", base, trainable=True)
    assert any(p.requires_grad for n, p in retrainable.named_parameters() if "lora_" in n)


def test_int8_rows_round_trip_within_half_a_step() -> None:
    import torch

    from models.artifact import dequantized_rows, quantized_rows

    weights = {"lora_A.weight": torch.randn(4, 300), "bias": torch.randn(5)}
    stored = quantized_rows(weights)
    assert stored["lora_A.weight"].dtype == torch.int8
    restored = dequantized_rows(stored)
    assert set(restored) == set(weights)
    step = weights["lora_A.weight"].abs().amax(dim=1, keepdim=True) / 127
    assert ((restored["lora_A.weight"] - weights["lora_A.weight"]).abs() <= step / 2 + 1e-7).all()
    assert torch.equal(restored["bias"], weights["bias"])


def _loss_test_config(**overrides: Any) -> TrainConfig:
    return TrainConfig(
        sentiment_train=Path("s"), sentiment_val=Path("s"), topic_train=Path("t"), topic_val=Path("t"),
        out_dir=Path("o"), **overrides,
    )  # fmt: skip


def _sentiment_only_loss(
    config: TrainConfig, labels: dict[str, torch.Tensor], teacher: dict[str, torch.Tensor]
) -> JointLoss:
    """The loss of a run distilling the sentiment head only, without class weights."""
    data = SimpleNamespace(
        train=SimpleNamespace(teacher_logits=teacher, labels={"sentiment": labels["sentiment"].numpy()}),
        classes={"sentiment": ["negative", "neutral", "positive"]},
    )
    return joint_loss(config, data)  # type: ignore[arg-type]


def _batch(labels: dict[str, torch.Tensor], teacher: dict[str, torch.Tensor]) -> Batch:
    rows = len(labels["sentiment"])
    return Batch(torch.zeros((rows, 1), dtype=torch.long), torch.ones((rows, 1), dtype=torch.long), labels, teacher)


def _soft_loss_per_row(student: torch.Tensor, teacher: torch.Tensor, t: float) -> torch.Tensor:
    kl = torch.nn.functional.kl_div(
        torch.log_softmax(student / t, -1), torch.log_softmax(teacher / t, -1), reduction="none", log_target=True
    )
    return kl.sum(-1)


def test_a_head_left_out_of_distillation_learns_from_its_true_labels_alone() -> None:
    torch.manual_seed(0)
    logits = {"sentiment": torch.randn(4, 3), "topic": torch.randn(4, 5)}
    teacher = {"sentiment": torch.randn(4, 3), "topic": torch.randn(4, 5)}
    labels = {"sentiment": torch.tensor([0, 1, 2, 1]), "topic": torch.tensor([0, 4, 2, 3])}
    config = _loss_test_config(sentiment_class_weighting=False, distill_alpha=0.5, distill_heads=("sentiment",))
    loss = _sentiment_only_loss(config, labels, teacher)

    t = config.distill_temperature
    soft = _soft_loss_per_row(logits["sentiment"], teacher["sentiment"], t).sum()
    ce = {k: torch.nn.functional.cross_entropy(logits[k], labels[k], reduction="sum") for k in labels}
    expected = (0.5 * ce["sentiment"] + 0.5 * t * t * soft + ce["topic"]) / 4
    assert torch.allclose(loss.of_logits(logits, _batch(labels, teacher)), expected)


def test_the_soft_loss_on_texts_without_a_heads_label_is_weighted_down() -> None:
    torch.manual_seed(1)
    logits = {"sentiment": torch.randn(4, 3), "topic": torch.randn(4, 5)}
    teacher = {"sentiment": torch.randn(4, 3), "topic": torch.randn(4, 5)}
    labels = {"sentiment": torch.tensor([0, 2, MISSING, MISSING]), "topic": torch.tensor([MISSING, MISSING, 1, 3])}
    config = _loss_test_config(
        sentiment_class_weighting=False, distill_alpha=0.5, distill_heads=("sentiment",), distill_unlabelled_weight=0.25
    )
    loss = _sentiment_only_loss(config, labels, teacher)

    t = config.distill_temperature
    per_row = _soft_loss_per_row(logits["sentiment"], teacher["sentiment"], t)
    soft = per_row[:2].sum() + 0.25 * per_row[2:].sum()
    ce = {
        k: torch.nn.functional.cross_entropy(logits[k], labels[k], ignore_index=MISSING, reduction="sum")
        for k in labels
    }
    expected = (0.5 * ce["sentiment"] + 0.5 * t * t * soft + ce["topic"]) / 4
    assert torch.allclose(loss.of_logits(logits, _batch(labels, teacher)), expected)


def test_an_unlabelled_weight_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ModelConfigError, match="distill_unlabelled_weight must lie in"):
        _loss_test_config(distill_unlabelled_weight=1.5)
