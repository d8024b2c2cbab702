"""Train → save → load → eval round trip on the tiny fixture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from finsent.cli import main
from models import Classifier
from models.artifact import ModelSpec
from models.exceptions import ModelConfigError
from models.train import TrainConfig, train


def test_training_writes_a_complete_model_directory(tiny_model_dir: Path) -> None:
    for name in (
        "finsent_model.json",
        "heads.safetensors",
        "adapter/adapter_config.json",
        "adapter/adapter_model.safetensors",
        "metrics.json",
        "README.md",
        "confusion_sentiment.png",
        "confusion_topic.png",
    ):
        assert (tiny_model_dir / name).is_file(), name
    spec = ModelSpec.from_dir(tiny_model_dir)
    assert spec.sentiments == ("negative", "neutral", "positive")
    assert len(spec.topics) == 20
    adapter = json.loads((tiny_model_dir / "adapter/adapter_config.json").read_text())
    assert adapter["base_model_name_or_path"] == "minilm-l6"


def test_the_card_says_what_the_run_did(tiny_model_dir: Path) -> None:
    """The tiny run has no teacher, no held-out slice and so no temperatures: the card claims none."""
    card = (tiny_model_dir / "README.md").read_text()
    assert "fine-tuned directly on the labelled tweets (no teacher)" in card
    assert "no slice of the training texts was held out" in card
    assert "temperature per head is fitted" not in card and "**teacher**" not in card


def test_tiny_model_learns_its_training_sentences(tiny_model_dir: Path) -> None:
    metrics = json.loads((tiny_model_dir / "metrics.json").read_text())["validation"]
    assert metrics["sentiment"]["accuracy"] >= 0.8
    assert metrics["topic"]["accuracy"] >= 0.8


def test_eval_command_prints_one_json_object(tiny_model_dir: Path, tiny_data: dict[str, Path]) -> None:
    result = CliRunner().invoke(
        main,
        [
            "eval",
            "--model",
            str(tiny_model_dir),
            "--task",
            "sentiment",
            "--data",
            str(tiny_data["sentiment"]),
            "--label-map",
            "tfn-sentiment",
            "--backend",
            "torch-fp32",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    for key in ("accuracy", "macro_f1", "weighted_f1", "per_class", "n", "texts_per_s", "backend"):
        assert key in report
    assert report["n"] == 36
    assert report["backend"] == "torch-fp32"
    assert set(report["per_class"]) == {"negative", "neutral", "positive"}
    assert report["accuracy"] >= 0.8


def test_eval_rejects_labels_the_model_does_not_know(tiny_model_dir: Path, tiny_data: dict[str, Path]) -> None:
    result = CliRunner().invoke(
        main,
        [
            "eval",
            "--model",
            str(tiny_model_dir),
            "--task",
            "sentiment",
            "--data",
            str(tiny_data["sentiment"]),
            "--backend",
            "torch-fp32",
        ],
    )
    assert result.exit_code != 0
    assert "not sentiment classes" in result.output


def test_training_rejects_unmapped_labels(tmp_path: Path, tiny_data: dict[str, Path]) -> None:
    config = TrainConfig(
        sentiment_train=tiny_data["topic"],
        sentiment_val=tiny_data["topic"],
        topic_train=tiny_data["topic"],
        topic_val=tiny_data["topic"],
        out_dir=tmp_path / "m",
        epochs=1,
    )
    with pytest.raises(ModelConfigError, match="label"):
        train(config, progress=False)


def test_a_config_that_distils_an_unknown_head_is_refused(tmp_path: Path, tiny_data: dict[str, Path]) -> None:
    with pytest.raises(ModelConfigError, match="distill_heads names no head: volume"):
        TrainConfig(
            sentiment_train=tiny_data["sentiment"],
            sentiment_val=tiny_data["sentiment"],
            topic_train=tiny_data["topic"],
            topic_val=tiny_data["topic"],
            out_dir=tmp_path / "m",
            distill_heads=("sentiment", "volume"),
        )


def test_loading_a_non_model_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelConfigError, match="not a finsent model directory"):
        Classifier.load(tmp_path)


@pytest.mark.parametrize(
    ("base", "role", "not_role"),
    [
        ("minilm-l6", "finsent's **CPU default**: a small student", "**teacher**"),
        ("mpnet-base", "earlier teacher's soft labels (`tiny-test`) on every training text", "CPU default"),
    ],
)
def test_the_card_names_a_distilled_models_role_by_its_base(
    model_copy: Path, tiny_model_dir: Path, base: str, role: str, not_role: str
) -> None:
    """A distilled MiniLM is the student; an mpnet distilled from an earlier teacher is a (self-distilled) teacher."""
    from models.report import write_report

    spec_path, metrics_path = model_copy / "finsent_model.json", model_copy / "metrics.json"
    spec = json.loads(spec_path.read_text())
    metrics = json.loads(metrics_path.read_text())
    spec["base_model"] = base
    metrics["config"]["teacher"] = str(tiny_model_dir)
    spec_path.write_text(json.dumps(spec))
    metrics_path.write_text(json.dumps(metrics))
    write_report(model_copy)
    card = (model_copy / "README.md").read_text()
    assert role in card and not_role not in card


def test_the_card_says_which_heads_learned_from_the_teacher(model_copy: Path, tiny_model_dir: Path) -> None:
    from models.report import write_report

    metrics_path = model_copy / "metrics.json"
    metrics = json.loads(metrics_path.read_text())
    metrics["config"] |= {"teacher": str(tiny_model_dir), "distill_heads": ["sentiment"]}
    metrics_path.write_text(json.dumps(metrics))
    write_report(model_copy)
    card = (model_copy / "README.md").read_text()
    assert "on the sentiment head for every text" in card
    assert "the topic head learns from its true labels alone." in card


def test_the_card_says_how_much_texts_without_a_label_weigh(model_copy: Path, tiny_model_dir: Path) -> None:
    from models.report import write_report

    metrics_path = model_copy / "metrics.json"
    metrics = json.loads(metrics_path.read_text())
    metrics["config"] |= {
        "teacher": str(tiny_model_dir),
        "distill_heads": ["sentiment"],
        "distill_unlabelled_weight": 0.25,
    }
    metrics_path.write_text(json.dumps(metrics))
    write_report(model_copy)
    card = (model_copy / "README.md").read_text()
    assert "for every text (weighted 0.25 on texts without that head's true label), plus" in card


def test_the_card_says_when_the_default_backend_was_set_by_hand(model_copy: Path) -> None:
    from models.report import write_report

    spec_path, metrics_path = model_copy / "finsent_model.json", model_copy / "metrics.json"
    spec, metrics = json.loads(spec_path.read_text()), json.loads(metrics_path.read_text())
    spec_path.write_text(json.dumps(spec | {"default_cpu_backend": "onnx-int8"}))
    for by_rule, expected in (("onnx-int8", "— the fastest whose"), ("onnx-fp32", "set by hand")):
        metrics_path.write_text(json.dumps(metrics | {"default_by_rule": by_rule}))
        write_report(model_copy)
        line = next(x for x in (model_copy / "README.md").read_text().splitlines() if "Default CPU backend" in x)
        assert "**onnx-int8**" in line and expected in line
    assert "onnx-fp32" in line


def test_a_default_backend_by_hand_must_be_a_cpu_backend() -> None:
    from finsent.dev.backends import benchmark_model
    from models.exceptions import ModelConfigError

    with pytest.raises(ModelConfigError, match="unknown CPU backend"):
        benchmark_model(None, {}, default="cuda-bf16")
