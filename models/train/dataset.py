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
from models.train.examples import ENTITY, MISSING, Examples
from models.train.mentions import CharSpan, MentionRow, read_mention_rows, sampled, tokenize_with_mentions
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
    rows = {task: _tweets(read_labelled(path, maps[task]), config) for task, path in
            (("sentiment", config.sentiment_train), ("topic", config.topic_train))}  # fmt: skip
    classes = _classes(config, maps["topic"], rows)
    transfer = [text for path in config.transfer_texts for text in read_texts(path)]
    mention_rows = entity_training_rows(config)
    pool = _pool({"sentiment": rows["sentiment"], "topic": rows["topic"]}, classes, transfer, mention_rows)
    examples = _encode(pool, tokenizer, config)
    if config.teacher is not None:
        cache = config.checkpoint_dir / TEACHER_CACHE
        spans = pool.spans if config.has_entities else None
        examples.teacher_logits = teacher_logits(config.teacher, examples.texts, classes, cache, spans)
    holdout_rows = [i for i, text in enumerate(pool.texts) if in_holdout(text, config.holdout_fraction)]
    held = set(holdout_rows)
    train_rows = [i for i in range(len(examples)) if i not in held]
    val_files = {"sentiment": config.sentiment_val, "topic": config.topic_val}
    val_rows = {task: _limited(read_labelled(path, maps[task]), config.limit) for task, path in val_files.items()}
    validation = {task: _encode(_pool({task: rows}, classes), tokenizer, config) for task, rows in val_rows.items()}
    if config.entity_val is not None:
        entity_val = read_mention_rows(config.entity_val)[: config.limit]
        validation[ENTITY] = _encode(_pool({}, classes, mention_rows=entity_val), tokenizer, config)
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


def entity_training_rows(config: TrainConfig) -> list[MentionRow]:
    """The rows of every entity training file, each sampled to its limit (and to ``limit``)."""
    rows: list[MentionRow] = []
    for source in config.entity_data:
        rows += sampled(read_mention_rows(source.path), source.limit, config.seed)[: config.limit]
    return rows


def _tweets(rows: LabelledTexts, config: TrainConfig) -> LabelledTexts:
    """A tweet training file, sampled to ``tweet_sample`` rows (seeded) and cut to ``limit``."""
    if config.tweet_sample is not None:
        kept = sampled(list(zip(rows.texts, rows.labels, strict=True)), config.tweet_sample, config.seed)
        rows = LabelledTexts([text for text, _ in kept], [label for _, label in kept])
    return _limited(rows, config.limit)


@dataclass
class _Pool:
    texts: list[str]
    labels: dict[str, list[int]]
    spans: list[list[CharSpan]]
    """Per text its mentions' character spans, parallel to ``entity``."""
    entity: list[list[int]]


def _pool(rows_by_task: dict[str, LabelledTexts], classes: dict[str, tuple[str, ...]],
          unlabelled: Sequence[str] = (), mention_rows: Sequence[MentionRow] = ()) -> _Pool:  # fmt: skip
    """One row per distinct text, with every label it has (a text in both files keeps both).

    A text with mentions also gets their labels and, when it has one, its own as a sentiment label.
    """
    position: dict[str, int] = {}
    texts: list[str] = []
    labels: dict[str, list[int]] = {t: [] for t in TASKS}
    pool = _Pool(texts, labels, [], [])
    for task, rows in rows_by_task.items():
        index = {name: i for i, name in enumerate(classes[task])}
        missing = sorted(set(rows.labels) - set(index))
        if missing:
            raise ModelConfigError(f"{task} labels {missing} are not among the classes {list(classes[task])}")
        for text, label in zip(rows.texts, rows.labels, strict=True):
            labels[task][_row_of(pool, position, text)] = index[label]
    for text in unlabelled:
        _row_of(pool, position, text)
    sentiment_index = {name: i for i, name in enumerate(classes["sentiment"])}
    for mention_row in mention_rows:
        row = _row_of(pool, position, mention_row.text)
        if mention_row.paragraph is not None:
            labels["sentiment"][row] = sentiment_index[mention_row.paragraph]
        if not pool.spans[row]:  # a text in two entity files keeps the mentions it was first given
            pool.spans[row] = list(mention_row.spans)
            pool.entity[row] = [sentiment_index[label] for label in mention_row.sentiments]
    return pool


def _row_of(pool: _Pool, position: dict[str, int], text: str) -> int:
    """The pool row of ``text``, appended without labels if new."""
    row = position.setdefault(text, len(pool.texts))
    if row == len(pool.texts):
        pool.texts.append(text)
        for t in TASKS:
            pool.labels[t].append(MISSING)
        pool.spans.append([])
        pool.entity.append([])
    return row


def read_texts(path: Path) -> list[str]:
    """The ``text`` column of a CSV or JSONL file (labels, if any, are ignored)."""
    rows = read_labelled(path, {}, require_label=False)
    return rows.texts


def _limited(rows: LabelledTexts, limit: int | None) -> LabelledTexts:
    if limit is None:
        return rows
    return LabelledTexts(rows.texts[:limit], rows.labels[:limit])


def _encode(pool: _Pool, tokenizer: Any, config: TrainConfig) -> Examples:
    labels: dict[str, np.ndarray] = {t: np.array(pool.labels[t], dtype=np.int64) for t in TASKS}
    pad_id = tokenizer.pad_token_id or 0
    if not config.has_entities:
        normalised = [normalise(text, config.text_normaliser) or text for text in pool.texts]
        ids = tokenizer(normalised, truncation=True, max_length=config.max_length)["input_ids"]
        return Examples(pool.texts, ids, labels, pad_id=pad_id)
    ids, mentions = tokenize_with_mentions(tokenizer, pool.texts, pool.spans, config.text_normaliser, config.max_length)
    slots = max((len(row) for row in pool.entity), default=0) or 1
    entity = np.full((len(pool.texts), slots), MISSING, dtype=np.int64)
    for row, row_labels in enumerate(pool.entity):
        entity[row, : len(row_labels)] = row_labels
    labels[ENTITY] = entity
    return Examples(pool.texts, ids, labels, pad_id=pad_id, mentions=mentions)
