"""The training files of both tasks as one pool of examples, with the held-out slice split off."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.artifact import ModelSpec
from models.data import LabelledTexts, read_labelled
from models.exceptions import ModelConfigError
from models.labels import SENTIMENT_CLASSES, TASKS, resolve_label_map, topic_classes
from models.text import in_holdout, normalise
from models.train.config import TrainConfig
from models.train.examples import MISSING, Examples
from models.train.teacher import teacher_logits

TEACHER_CACHE = "teacher_logits.npz"


@dataclass
class TrainData:
    """Per task its class names; the training texts, the held-out slice and each task's validation file."""

    classes: dict[str, tuple[str, ...]]
    train: Examples
    holdout: Examples
    validation: dict[str, Examples]


def load_training_data(config: TrainConfig, tokenizer: Callable) -> TrainData:
    """Both tasks' files as one pool of examples, the hashed hold-out slice split off."""
    label_maps = {"sentiment": config.sentiment_label_map, "topic": config.topic_label_map}
    maps = {task: resolve_label_map(spec) for task, spec in label_maps.items()}
    rows = {
        "sentiment": _limited(read_labelled(config.sentiment_train, maps["sentiment"]), config.limit),
        "topic": _limited(read_labelled(config.topic_train, maps["topic"]), config.limit),
    }
    classes = _classes(config, maps["topic"], rows)
    transfer = [text for path in config.transfer_texts for text in read_texts(path)]
    pool = _pool({"sentiment": rows["sentiment"], "topic": rows["topic"]}, classes, transfer)
    examples = _encode(pool, tokenizer, config)
    if config.teacher is not None:
        cache = config.checkpoint_dir / TEACHER_CACHE
        examples.teacher_logits = teacher_logits(config.teacher, examples.texts, classes, cache)
    holdout_rows = [i for i, text in enumerate(pool.texts) if in_holdout(text, config.holdout_fraction)]
    held = set(holdout_rows)
    train_rows = [i for i in range(len(examples)) if i not in held]
    val_files = {"sentiment": config.sentiment_val, "topic": config.topic_val}
    val_rows = {task: _limited(read_labelled(path, maps[task]), config.limit) for task, path in val_files.items()}
    validation = {task: _encode(_pool({task: rows}, classes), tokenizer, config) for task, rows in val_rows.items()}
    holdout = examples.subset(holdout_rows)
    holdout.teacher_logits = None
    return TrainData(classes, examples.subset(train_rows), holdout, validation)


def _classes(
    config: TrainConfig, topic_map: dict[str, str], rows: dict[str, LabelledTexts]
) -> dict[str, tuple[str, ...]]:
    """Each head's classes; every training label must be one of them."""
    classes = {"sentiment": SENTIMENT_CLASSES, "topic": topic_classes(topic_map, rows["topic"].labels)}
    if config.init_from is not None:  # the heads go on learning the classes they have
        classes["topic"] = ModelSpec.from_dir(config.init_from).topics
    unknown = set(rows["sentiment"].labels) - set(SENTIMENT_CLASSES)
    if unknown:
        raise ModelConfigError(f"sentiment labels must map to {SENTIMENT_CLASSES}, got {sorted(unknown)}")
    unknown_topics = set(rows["topic"].labels) - set(classes["topic"])
    if unknown_topics:
        raise ModelConfigError(f"topics the model does not know: {sorted(unknown_topics)[:5]}")
    return classes


@dataclass
class _Pool:
    texts: list[str]
    labels: dict[str, list[int]]


def _pool(rows_by_task: dict[str, LabelledTexts], classes: dict[str, tuple[str, ...]],
          unlabelled: Sequence[str] = ()) -> _Pool:  # fmt: skip
    """One row per distinct text, with every label it has (a text in both files keeps both)."""
    position: dict[str, int] = {}
    texts: list[str] = []
    labels: dict[str, list[int]] = {t: [] for t in TASKS}
    for task, rows in rows_by_task.items():
        index = {name: i for i, name in enumerate(classes[task])}
        missing = sorted(set(rows.labels) - set(index))
        if missing:
            raise ModelConfigError(f"{task} labels {missing} are not among the classes {list(classes[task])}")
        for text, label in zip(rows.texts, rows.labels, strict=True):
            row = position.setdefault(text, len(texts))
            if row == len(texts):
                texts.append(text)
                for t in TASKS:
                    labels[t].append(MISSING)
            labels[task][row] = index[label]
    for text in unlabelled:
        if text not in position:
            position[text] = len(texts)
            texts.append(text)
            for t in TASKS:
                labels[t].append(MISSING)
    return _Pool(texts, labels)


def read_texts(path: Path) -> list[str]:
    """The ``text`` column of a CSV or JSONL file (labels, if any, are ignored)."""
    rows = read_labelled(path, {}, require_label=False)
    return rows.texts


def _limited(rows: LabelledTexts, limit: int | None) -> LabelledTexts:
    if limit is None:
        return rows
    return LabelledTexts(rows.texts[:limit], rows.labels[:limit])


def _encode(pool: _Pool, tokenizer: Any, config: TrainConfig) -> Examples:
    normalised = [normalise(text, config.text_normaliser) or text for text in pool.texts]
    ids = tokenizer(normalised, truncation=True, max_length=config.max_length)["input_ids"]
    labels: dict[str, np.ndarray] = {t: np.array(pool.labels[t], dtype=np.int64) for t in TASKS}
    return Examples(pool.texts, ids, labels, pad_id=tokenizer.pad_token_id or 0)
