"""`finsent train`, `finsent distill` and the standard `finsent eval` report, on a tiny data root."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import finsent.training_cli
from finsent.cli import main
from finsent.training_cli import STUDENT_RECIPE, TEACHER_RECIPE
from models.corpora import NEWS_HEADLINES, SENTIMENT_DIR, TOPIC_DIR


@pytest.fixture(scope="module")
def data_root(tiny_data: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The standard corpus layout, filled with the tiny sentences (news labelled by name)."""
    root = tmp_path_factory.mktemp("data-root")
    for folder, source in ((SENTIMENT_DIR, tiny_data["sentiment"]), (TOPIC_DIR, tiny_data["topic"])):
        (root / folder).mkdir()
        shutil.copy(source, root / folder / "train.csv")
        shutil.copy(source, root / folder / "validation.csv")
    (root / NEWS_HEADLINES).parent.mkdir()
    names = {"0": "negative", "1": "positive", "2": "neutral"}
    lines = tiny_data["sentiment"].read_text().splitlines()
    news = [lines[0]] + [f"{row.rsplit(',', 1)[0]},{names[row.rsplit(',', 1)[1]]}" for row in lines[1:]]
    (root / NEWS_HEADLINES).write_text("\n".join(news) + "\n")
    return root


def test_train_then_eval_report_covers_tweets_and_news(data_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "model"
    runner = CliRunner()
    trained = runner.invoke(
        main,
        ["train", "--base", "minilm-l6", "--data-root", str(data_root), "--epochs", "2", "--batch-size", "8",
         "--learning-rate", "3e-3", "--out", str(out)],
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    summary = json.loads(trained.stdout.strip().splitlines()[-1])
    assert {"sentiment_macro_f1", "topic_accuracy", "ece"} <= set(summary)
    config = json.loads((out / "metrics.json").read_text())["config"]
    assert (config["learning_rate"], config["lora_rank"]) == (3e-3, TEACHER_RECIPE.lora_rank), "given, else the recipe"

    report = runner.invoke(
        main, ["eval", "--model", str(out), "--data-root", str(data_root), "--backend", "torch-fp32",
               "--format", "json", "--write"],
    )  # fmt: skip
    assert report.exit_code == 0, report.output
    result = json.loads(report.stdout)
    assert {"tweets_sentiment", "tweets_topic", "news_headlines"} <= set(result)
    assert result["ece"] == result["tweets_sentiment"]["ece"]
    assert set(result["news_headlines"]["baselines"]) == {"VADER", "Loughran-McDonald"}
    card = (out / "README.md").read_text()
    assert "news, sentiment" in card and "Loughran-McDonald" in card


def test_resume_of_a_directory_without_checkpoint_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["train", "--resume", str(tmp_path)])
    assert result.exit_code == 2
    assert "holds no checkpoint" in result.output


def test_missing_data_root_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FINSENT_TRAINING_DATA", raising=False)
    result = CliRunner().invoke(main, ["train", "--out", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert "--data-root" in result.output


def test_distill_writes_a_student(tiny_model_dir: Path, data_root: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["distill", "--teacher", str(tiny_model_dir), "--data-root", str(data_root), "--epochs", "1",
         "--batch-size", "8", "--out", str(tmp_path / "student")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "student" / "metrics.json").read_text())["config"]
    assert config["teacher"] == str(tiny_model_dir) and config["base_model"] == "minilm-l6"


@pytest.mark.parametrize(("base", "recipe"), [("minilm-l6", STUDENT_RECIPE), ("mpnet-base", TEACHER_RECIPE)])
def test_distill_takes_the_recipe_of_its_base(
    base: str, recipe: finsent.training_cli.Recipe, tiny_model_dir: Path, data_root: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """An mpnet student is a new teacher: the teacher's rank (its adapter must fit a shipped model), rate, epochs."""
    configs: list = []
    monkeypatch.setattr(finsent.training_cli, "_run_training", lambda config, resume: configs.append(config))
    result = CliRunner().invoke(
        main, ["distill", "--teacher", str(tiny_model_dir), "--base", base, "--data-root", str(data_root),
               "--out", str(tmp_path / "student")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (config,) = configs
    expected = (recipe.lora_rank, recipe.lora_learning_rate, recipe.epochs)
    assert (config.lora_rank, config.learning_rate, config.epochs) == expected


@pytest.mark.parametrize(
    ("flags", "heads"), [([], ("sentiment", "topic")), (["--distill-heads", "sentiment"], ("sentiment",))]
)
def test_distill_heads_default_to_both(
    flags: list[str], heads: tuple[str, ...], tiny_model_dir: Path, data_root: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    configs: list = []
    monkeypatch.setattr(finsent.training_cli, "_run_training", lambda config, resume: configs.append(config))
    result = CliRunner().invoke(
        main, ["distill", "--teacher", str(tiny_model_dir), "--data-root", str(data_root), *flags,
               "--out", str(tmp_path / "student")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert configs[0].distill_heads == heads
    assert type(configs[0]).from_json(configs[0].to_json()).distill_heads == heads
