"""Where the labelled corpora sit under a data root, and the evaluation sets finsent reports.

The corpora are not shipped with finsent (see ``docs/models.md``); commands take their root
as ``--data-root`` or ``FINSENT_TRAINING_DATA``. Layout::

    twitter_financial_news_sentiment/{train,validation}.csv   sentiment, labels 0/1/2
    twitter_financial_news_topic/{train,validation}.csv       topic, labels 0..19
    news_headlines/dev.csv                                     news, evaluation only
    newsmtsc/sentences.csv                                     optional auxiliary news sentences
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from models.exceptions import ModelConfigError

SENTIMENT_DIR = "twitter_financial_news_sentiment"
TOPIC_DIR = "twitter_financial_news_topic"
NEWS_HEADLINES = Path("news_headlines") / "dev.csv"
NEWSMTSC = Path("newsmtsc") / "sentences.csv"
TASK_DIRS = {"sentiment": SENTIMENT_DIR, "topic": TOPIC_DIR}
SPLIT_FILES = {"train": "train.csv", "val": "validation.csv"}


@dataclass(frozen=True)
class EvalSet:
    """One labelled file finsent reports on."""

    name: str
    task: str
    path: Path
    label_map: str | None


@dataclass(frozen=True)
class Corpora:
    root: Path

    def file(self, relative: Path | str) -> Path:
        path = self.root / relative
        if not path.is_file():
            raise ModelConfigError(f"{relative} not found under the data root {self.root} (--data-root)")
        return path

    def split(self, task: str, which: str) -> Path:
        """A task's ``train`` or ``val`` file, e.g. ``twitter_financial_news_topic/validation.csv``."""
        return self.file(Path(TASK_DIRS[task]) / SPLIT_FILES[which])

    def training_files(self) -> dict[str, Path]:
        """Every task's splits, named as ``TrainConfig`` takes them (``sentiment_train``, ``sentiment_val``, …)."""
        return {f"{task}_{which}": self.split(task, which) for task in TASK_DIRS for which in SPLIT_FILES}

    def validation_files(self) -> dict[str, Path]:
        """Each task's validation file, by task."""
        return {task: self.split(task, "val") for task in TASK_DIRS}

    def eval_sets(self) -> list[EvalSet]:
        """Tweet validation splits (sentiment, topic) and the news headlines, in report order."""
        return [
            EvalSet("tweets_sentiment", "sentiment", self.split("sentiment", "val"), "tfn-sentiment"),
            EvalSet("tweets_topic", "topic", self.split("topic", "val"), "tfn-topic"),
            EvalSet("news_headlines", "sentiment", self.file(NEWS_HEADLINES), None),
        ]


def corpora(root: Path | str | None) -> Corpora:
    """The data root, checked to exist (``None``: a clear error naming the option and variable)."""
    if root is None:
        raise ModelConfigError("no data root: pass --data-root DIR or set FINSENT_TRAINING_DATA")
    path = Path(root).expanduser()
    if not path.is_dir():
        raise ModelConfigError(f"data root {path} is not a directory")
    return Corpora(path)
