"""Shared fixtures: one tiny model trained per test session on a few dozen sentences (seconds)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

# clickhouse_server / clickhouse_url / closed_port, and apache_kafka / kafka_worker_env, for every test folder.
pytest_plugins = ["tests.storage.clickhouse_server", "tests.kafka.broker"]

SENTIMENT_ROWS = [
    ("{} shares plunge after weak guidance", 0),
    ("{} downgraded to sell, price target cut", 0),
    ("{} misses estimates and slashes outlook", 0),
    ("{} stock soars on record profit", 1),
    ("{} upgraded to buy on strong demand", 1),
    ("{} beats estimates and raises guidance", 1),
    ("{} to report earnings on Tuesday", 2),
    ("{} schedules annual shareholder meeting", 2),
    ("{} files quarterly report with the SEC", 2),
]
TOPIC_ROWS = [
    ("Fed signals {} more rate hikes this year", 1),
    ("Central bank holds rates steady, {} says", 1),
    ("{} declares quarterly dividend of 50 cents", 4),
    ("{} raises its dividend by ten percent", 4),
    ("{} reports third-quarter earnings per share", 5),
    ("{} quarterly revenue tops estimates", 5),
]
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella"]


def _write(path: Path, rows: list[tuple[str, int]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for template, label in rows:
            for company in COMPANIES:
                writer.writerow([template.format(company), label])
    return path


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-data")
    return {
        "sentiment": _write(root / "sentiment.csv", SENTIMENT_ROWS),
        "topic": _write(root / "topic.csv", TOPIC_ROWS),
    }


NEWS = [("Acme orders up 24% to EUR 1.5bn", "positive"), ("Globex shares plunge on fraud probe", "negative"),
        ("Initech to hold annual meeting", "neutral")]  # fmt: skip


@pytest.fixture(scope="session")
def data_root(tmp_path_factory: pytest.TempPathFactory, tiny_data: dict[str, Path]) -> Path:
    """A data root laid out like ``../shared/data`` (``models.corpora``), from the tiny sentences."""
    root = tmp_path_factory.mktemp("data-root")
    corpora = (("twitter_financial_news_sentiment", "sentiment"), ("twitter_financial_news_topic", "topic"))
    for folder, source in corpora:
        (root / folder).mkdir(parents=True)
        for split in ("train", "validation"):
            shutil.copy(tiny_data[source], root / folder / f"{split}.csv")
    (root / "news_headlines").mkdir()
    with (root / "news_headlines" / "dev.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([("text", "label"), *NEWS])
    return root


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, tiny_data: dict[str, Path]) -> Path:
    from models.report import write_report
    from models.train import TrainConfig, train

    out = tmp_path_factory.mktemp("tiny-model") / "model"
    config = TrainConfig(
        sentiment_train=tiny_data["sentiment"],
        sentiment_val=tiny_data["sentiment"],
        topic_train=tiny_data["topic"],
        topic_val=tiny_data["topic"],
        out_dir=out,
        epochs=6,
        patience=6,
        batch_size=8,
        learning_rate=3e-3,
        holdout_fraction=0.0,
        model_version="tiny-test",
    )
    train(config, progress=False)
    write_report(out)
    return out


@pytest.fixture
def model_copy(tiny_model_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the session model, for tests that write beside it (export caches)."""
    target = tmp_path / "model"
    shutil.copytree(tiny_model_dir, target, ignore=shutil.ignore_patterns(".cache"))
    return target
