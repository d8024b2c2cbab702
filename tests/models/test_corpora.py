"""Where the corpora sit under a data root: the split files, named as training takes them."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from models.corpora import corpora
from models.exceptions import ModelConfigError
from models.train import TrainConfig


def test_training_files_are_named_as_train_config_takes_them(data_root: Path) -> None:
    files = corpora(data_root).training_files()
    assert list(files) == ["sentiment_train", "sentiment_val", "topic_train", "topic_val"]
    assert set(files) <= {field.name for field in fields(TrainConfig)}
    assert files["topic_val"] == data_root / "twitter_financial_news_topic" / "validation.csv"


def test_validation_files_by_task_and_in_the_eval_sets(data_root: Path) -> None:
    data = corpora(data_root)
    validation = data.validation_files()
    assert validation == {
        "sentiment": data_root / "twitter_financial_news_sentiment" / "validation.csv",
        "topic": data_root / "twitter_financial_news_topic" / "validation.csv",
    }
    assert [s.path for s in data.eval_sets()][:2] == [validation["sentiment"], validation["topic"]]


def test_a_missing_split_names_the_file_and_the_option(tmp_path: Path) -> None:
    with pytest.raises(ModelConfigError, match=r"twitter_financial_news_sentiment/train.csv not found.*--data-root"):
        corpora(tmp_path).training_files()
