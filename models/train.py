"""Joint fine-tuning of one encoder with a topic head and a sentiment head, resumable.

The texts of both training files form one pool; each text carries the labels it has (a
sentiment tweet has no topic label and the other way round; -1 marks a missing one) and, when
distilling, a teacher's logits for both heads. Batches come from length-sorted buckets to keep
padding, and so CPU time, low. A hashed 5 % of the texts is held out: it picks the best
checkpoint and fits the heads' temperatures, so the validation files are never looked at
before the final report.

Checkpoints (``OUT/checkpoint/``) are written several times an epoch and hold everything the
next step depends on (trainable weights, optimiser, schedule, random state, position), so a
resumed run ends where the unbroken one would have.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from models.artifact import (
    DEFAULT_BASE_MODEL,
    HEADS_FILE,
    SPEC_FILE,
    ModelSpec,
    load_lora_encoder,
    portable_adapter_config,
)
from models.bases import resolve_base_path
from models.calibration import expected_calibration_error, fit_temperature, softmax
from models.data import LabelledTexts, read_labelled
from models.exceptions import ModelConfigError
from models.labels import SENTIMENT_CLASSES, TASKS, resolve_label_map, topic_classes
from models.metrics import classification_metrics
from models.network import MultiTaskClassifier
from models.text import in_holdout, normalise

log = logging.getLogger(__name__)

MISSING = -1
LORA_TARGETS = r".*encoder\.layer\.\d+\..*\.(query|key|value|q|k|v|o|dense)"
"""Every linear layer inside the transformer blocks (BERT and MPNet names), never the pooler."""
CHECKPOINT_DIR = "checkpoint"


@dataclass
class TrainConfig:
    """Everything one training run depends on (saved with its checkpoints and into metrics.json)."""

    sentiment_train: Path
    sentiment_val: Path
    topic_train: Path
    topic_val: Path
    out_dir: Path
    base_model: str = DEFAULT_BASE_MODEL
    sentiment_label_map: str | None = "tfn-sentiment"
    topic_label_map: str | None = "tfn-topic"
    method: str = "lora"
    lora_rank: int = 16
    lora_alpha: int | None = None
    lora_dropout: float = 0.05
    epochs: int = 8
    patience: int = 4
    """Checkpoints in a row without a better held-out score before stopping."""
    checkpoints_per_epoch: int = 2
    batch_size: int = 32
    learning_rate: float | None = None
    warmup_ratio: float = 0.06
    weight_decay: float = 0.01
    max_length: int = 96
    sentiment_class_weighting: bool = True
    text_normaliser: str | None = "demojize+strip-urls"
    """Applied to every text in training and recorded in the model, which applies it at inference (models.text)."""
    holdout_fraction: float = 0.05
    seed: int = 13
    limit: int | None = None
    model_version: str | None = None
    teacher: Path | None = None
    """A finsent model directory whose logits the student learns (``finsent distill``)."""
    distill_temperature: float = 2.0
    distill_alpha: float = 0.5
    """Weight of the soft (teacher) loss; 1 - alpha goes to the true labels' cross-entropy."""
    distill_heads: tuple[str, ...] = TASKS
    """The heads that learn the teacher's soft labels; any other head learns from its true labels alone."""
    distill_unlabelled_weight: float = 1.0
    """Weight of a head's soft loss on texts without that head's true label (topic tweets, for sentiment)."""
    transfer_texts: tuple[Path, ...] = ()
    """Unlabelled extra texts (CSV/JSONL with ``text``) that only carry teacher targets."""
    init_from: Path | None = None
    """A finsent model directory to go on fine-tuning (``finsent retrain``): its classes, adapter and heads."""

    def __post_init__(self) -> None:
        unknown = sorted(set(self.distill_heads) - set(TASKS))
        if unknown:
            raise ModelConfigError(f"distill_heads names no head: {', '.join(unknown)} (the heads: {', '.join(TASKS)})")
        if not 0.0 <= self.distill_unlabelled_weight <= 1.0:
            weight = self.distill_unlabelled_weight
            raise ModelConfigError(f"distill_unlabelled_weight must lie in [0, 1], not {weight}")

    def effective_learning_rate(self) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return 5e-4 if self.method == "lora" else 8e-5

    def to_json(self) -> dict[str, Any]:
        raw = asdict(self)
        raw["transfer_texts"] = [str(p) for p in self.transfer_texts]
        return {k: str(v) if isinstance(v, Path) else v for k, v in raw.items()}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> TrainConfig:
        paths = {"sentiment_train", "sentiment_val", "topic_train", "topic_val", "out_dir", "teacher", "init_from"}
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {
            k: (Path(v) if k in paths and v is not None else v) for k, v in raw.items() if k in known
        }
        values["transfer_texts"] = tuple(Path(p) for p in raw.get("transfer_texts", ()))
        values["distill_heads"] = tuple(raw.get("distill_heads", TASKS))
        return cls(**values)


@dataclass
class Examples:
    """Tokenised texts with, per task, a class index (MISSING where the text has no such label)."""

    texts: list[str] = field(repr=False)
    token_ids: list[list[int]] = field(repr=False)
    labels: dict[str, np.ndarray]
    teacher_logits: dict[str, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, rows: Sequence[int]) -> Examples:
        index = np.asarray(rows, dtype=np.int64)
        teacher = None if self.teacher_logits is None else {t: v[index] for t, v in self.teacher_logits.items()}
        return Examples(
            [self.texts[i] for i in index],
            [self.token_ids[i] for i in index],
            {t: v[index] for t, v in self.labels.items()},
            teacher,
        )


@dataclass
class TrainData:
    classes: dict[str, tuple[str, ...]]
    train: Examples
    holdout: Examples
    validation: dict[str, Examples]


@dataclass
class TrainResult:
    out_dir: Path
    best_epoch: float
    metrics: dict[str, Any]
    seconds: float


@dataclass
class Progress:
    """Where a run stands; saved in every checkpoint."""

    epoch: int = 1
    next_batch: int = 0
    global_step: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    best_score: float = -1.0
    best_at: float = 0.0
    since_best: int = 0
    seconds: float = 0.0
    done: bool = False


class TrainingStopped(RuntimeError):
    """Raised by the ``stop_after_steps`` hook: a run cut off between checkpoints, as by a kill."""


def train(
    config: TrainConfig, progress: bool = True, resume: bool = False, stop_after_steps: int | None = None
) -> TrainResult:
    """Fine-tune (or distil), keep the checkpoint with the best held-out score, save the model dir.

    ``resume`` continues from ``OUT/checkpoint`` when one exists. ``stop_after_steps`` ends the
    run abruptly after that many optimiser steps of this call (tests use it to play a crash).
    """
    if config.method not in {"lora", "full"}:
        raise ModelConfigError(f"method must be 'lora' or 'full', not {config.method!r}")
    started = time.monotonic()
    torch.set_num_threads(max(1, int(os.environ.get("FINSENT_TRAIN_THREADS", torch.get_num_threads()))))
    from transformers import AutoModel, AutoTokenizer

    base_path = resolve_base_path(config.base_model)
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    data = load_training_data(config, tokenizer)
    _seed_everything(config.seed)
    if config.init_from is not None:
        model = _continued_model(config.init_from, config)
    else:
        encoder = AutoModel.from_pretrained(base_path)
        if config.method == "lora":
            encoder = _with_lora(encoder, config)
        model = MultiTaskClassifier(encoder, len(data.classes["topic"]), len(data.classes["sentiment"]))
    losses = LossFunctions(config, data)
    steps_per_epoch = len(epoch_batches(data.train, config.batch_size, random.Random(config.seed + 1)))
    optimizer, scheduler = _optimizer(model, config, steps_per_epoch * config.epochs)
    state = Progress()
    checkpoint = config.out_dir / CHECKPOINT_DIR
    if resume and (checkpoint / "state.pt").is_file():
        state = _load_checkpoint(checkpoint, model, optimizer, scheduler)
        log.info("resuming at epoch %d, batch %d (step %d)", state.epoch, state.next_batch, state.global_step)
    pad_id = tokenizer.pad_token_id or 0
    session_started = time.monotonic() - state.seconds
    if not state.done:
        _run_epochs(
            model, data, losses, optimizer, scheduler, state, config, tokenizer, pad_id, progress,
            steps_per_epoch, session_started, stop_after_steps,
        )  # fmt: skip
    best = _load_checkpoint_weights(checkpoint / "best.pt")
    model.load_state_dict(best, strict=False)
    temperatures, calibration = calibrate(model, data, pad_id)
    final = {task: evaluate_task(model, data.validation[task], task, data.classes[task], pad_id, with_confusion=True,
                                 temperature=temperatures[task]) for task in TASKS}  # fmt: skip
    metrics = {
        "validation": final,
        "calibration": calibration,
        "best_epoch": state.best_at,
        "history": state.history,
        "steps_per_epoch": steps_per_epoch,
        "train_examples": {t: int((data.train.labels[t] != MISSING).sum()) for t in TASKS} | {"texts": len(data.train)},
        "holdout_examples": {t: int((data.holdout.labels[t] != MISSING).sum()) for t in TASKS},
        "train_seconds": round(state.seconds, 1),
        "machine": _machine(),
        "config": config.to_json(),
    }
    _save(model, tokenizer, data.classes, config, metrics, temperatures)
    return TrainResult(config.out_dir, state.best_at, metrics, time.monotonic() - started)


def _run_epochs(
    model: MultiTaskClassifier,
    data: TrainData,
    losses: LossFunctions,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    state: Progress,
    config: TrainConfig,
    tokenizer: Any,
    pad_id: int,
    progress: bool,
    steps_per_epoch: int,
    session_started: float,
    stop_after_steps: int | None,
) -> None:
    total_steps = steps_per_epoch * config.epochs
    bar = tqdm(total=total_steps, initial=state.global_step, unit="step", disable=not progress, mininterval=10,
               desc=f"training {config.base_model}")  # fmt: skip
    steps_this_call = 0
    running, counted = 0.0, 0
    while state.epoch <= config.epochs and not state.done:
        batches = epoch_batches(data.train, config.batch_size, random.Random(config.seed + state.epoch))
        marks = checkpoint_marks(len(batches), config.checkpoints_per_epoch)
        model.train()
        for index in range(state.next_batch, len(batches)):
            loss = _train_step(model, data.train, batches[index], losses, optimizer, scheduler, pad_id)
            running, counted = running + loss, counted + 1
            state.global_step += 1
            steps_this_call += 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}", epoch=state.epoch, refresh=False)
            if stop_after_steps is not None and steps_this_call >= stop_after_steps:
                bar.close()
                raise TrainingStopped(f"stopped after {steps_this_call} steps")
            if index + 1 in marks:
                state.next_batch = index + 1
                state.seconds = time.monotonic() - session_started
                _checkpoint(model, data, state, config, tokenizer, pad_id, optimizer, scheduler, index + 1,
                            len(batches), running / max(counted, 1), progress)  # fmt: skip
                running, counted = 0.0, 0
                model.train()
                if state.done:
                    break
        state.epoch += 1
        state.next_batch = 0
    state.done = True
    state.seconds = time.monotonic() - session_started
    _save_checkpoint(config.out_dir / CHECKPOINT_DIR, model, optimizer, scheduler, state, config)
    bar.close()


def _checkpoint(
    model: MultiTaskClassifier,
    data: TrainData,
    state: Progress,
    config: TrainConfig,
    tokenizer: Any,
    pad_id: int,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    position: int,
    epoch_batches_count: int,
    mean_loss: float,
    progress: bool,
) -> None:
    """Score the held-out slice, keep the best weights, and write a resumable checkpoint."""
    held_out = {t: evaluate_task(model, data.holdout, t, data.classes[t], pad_id) for t in TASKS}
    at = round(state.epoch - 1 + position / epoch_batches_count, 2)
    scored = [held_out[t]["macro_f1"] for t in TASKS if held_out[t]["n"]]
    # Without a held-out slice (holdout_fraction 0) every checkpoint is the best so far: the last one is kept.
    score = round(float(np.mean(scored)), 4) if scored else at
    entry = {
        "epoch": state.epoch,
        "position": position,
        "at": at,
        "step": state.global_step,
        "train_loss": round(mean_loss, 4),
        "holdout_score": score,
        **{t: {k: held_out[t][k] for k in ("accuracy", "macro_f1")} for t in TASKS},
        "seconds": round(state.seconds, 1),
    }
    state.history.append(entry)
    log.info("checkpoint at epoch %.2f: %s", at, entry)
    if progress:
        tqdm.write(json.dumps(entry))
    directory = config.out_dir / CHECKPOINT_DIR
    directory.mkdir(parents=True, exist_ok=True)
    if score > state.best_score:
        state.best_score, state.best_at, state.since_best = score, at, 0
        _atomic_torch_save(_trainable_state(model), directory / "best.pt")
        _save(model, tokenizer, data.classes, config, {"history": state.history, "best_epoch": at, "partial": True}, {})
    else:
        state.since_best += 1
        if state.since_best >= config.patience:
            log.info("no better held-out score in %d checkpoints: stopping", state.since_best)
            state.done = True
    _save_checkpoint(directory, model, optimizer, scheduler, state, config)


def checkpoint_marks(n_batches: int, per_epoch: int) -> set[int]:
    """Batch counts after which an epoch checkpoints: evenly spaced, always including the end."""
    per_epoch = max(1, min(per_epoch, n_batches))
    return {math.ceil(n_batches * k / per_epoch) for k in range(1, per_epoch + 1)}


def _save_checkpoint(
    directory: Path, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any, state: Progress,
    config: TrainConfig,
) -> None:  # fmt: skip
    directory.mkdir(parents=True, exist_ok=True)
    payload = {
        "trainable": _trainable_state(model),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "progress": asdict(state),
    }
    _atomic_torch_save(payload, directory / "state.pt")
    (directory / "config.json").write_text(json.dumps(config.to_json(), indent=2) + "\n")


def _load_checkpoint(directory: Path, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any) -> Progress:
    payload = torch.load(directory / "state.pt", weights_only=False)
    model.load_state_dict(payload["trainable"], strict=False)
    optimizer.load_state_dict(payload["optimizer"])
    scheduler.load_state_dict(payload["scheduler"])
    torch.set_rng_state(payload["torch_rng"])
    return Progress(**payload["progress"])


def _load_checkpoint_weights(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise ModelConfigError(f"{path} missing: the run never reached its first checkpoint")
    return torch.load(path, weights_only=True)


def _atomic_torch_save(obj: Any, path: Path) -> None:
    partial = path.with_suffix(".partial")
    torch.save(obj, partial)
    os.replace(partial, path)


def load_config(out_dir: Path) -> TrainConfig:
    """The configuration a checkpointed run was started with (``finsent train --resume DIR``)."""
    path = out_dir / CHECKPOINT_DIR / "config.json"
    if not path.is_file():
        raise ModelConfigError(f"{out_dir} holds no checkpoint to resume ({path} missing)")
    return TrainConfig.from_json(json.loads(path.read_text()))


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_training_data(config: TrainConfig, tokenizer: Callable) -> TrainData:
    """Both tasks' files as one pool of examples, the hashed hold-out slice split off."""
    sentiment_map = resolve_label_map(config.sentiment_label_map)
    topic_map = resolve_label_map(config.topic_label_map)
    sentiment_rows = _limited(read_labelled(config.sentiment_train, sentiment_map), config.limit)
    topic_rows = _limited(read_labelled(config.topic_train, topic_map), config.limit)
    classes = {"sentiment": SENTIMENT_CLASSES, "topic": topic_classes(topic_map, topic_rows.labels)}
    if config.init_from is not None:  # the heads go on learning the classes they have
        classes["topic"] = ModelSpec.from_dir(config.init_from).topics
    unknown = set(sentiment_rows.labels) - set(SENTIMENT_CLASSES)
    if unknown:
        raise ModelConfigError(f"sentiment labels must map to {SENTIMENT_CLASSES}, got {sorted(unknown)}")
    unknown_topics = set(topic_rows.labels) - set(classes["topic"])
    if unknown_topics:
        raise ModelConfigError(f"topics the model does not know: {sorted(unknown_topics)[:5]}")
    transfer = [text for path in config.transfer_texts for text in read_texts(path)]
    pool = _pool({"sentiment": sentiment_rows, "topic": topic_rows}, classes, transfer)
    examples = _encode(pool, tokenizer, config)
    if config.teacher is not None:
        cache = config.out_dir / CHECKPOINT_DIR / "teacher_logits.npz"
        examples.teacher_logits = teacher_logits(config.teacher, examples.texts, classes, cache)
    holdout_rows = [i for i, text in enumerate(pool.texts) if in_holdout(text, config.holdout_fraction)]
    held = set(holdout_rows)
    train_rows = [i for i in range(len(examples)) if i not in held]
    validation = {
        "sentiment": _encode(
            _pool({"sentiment": _limited(read_labelled(config.sentiment_val, sentiment_map), config.limit)}, classes),
            tokenizer, config,
        ),
        "topic": _encode(
            _pool({"topic": _limited(read_labelled(config.topic_val, topic_map), config.limit)}, classes),
            tokenizer, config,
        ),
    }  # fmt: skip
    holdout = examples.subset(holdout_rows)
    holdout.teacher_logits = None
    return TrainData(classes, examples.subset(train_rows), holdout, validation)


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


def _encode(pool: _Pool, tokenizer: Callable, config: TrainConfig) -> Examples:
    normalised = [normalise(text, config.text_normaliser) or text for text in pool.texts]
    ids = tokenizer(normalised, truncation=True, max_length=config.max_length)["input_ids"]
    labels = {t: np.array(pool.labels[t], dtype=np.int64) for t in TASKS}
    return Examples(pool.texts, ids, labels)


def teacher_logits(
    teacher_dir: Path, texts: Sequence[str], classes: dict[str, tuple[str, ...]], cache: Path
) -> dict[str, np.ndarray]:
    """The teacher's raw logits for every text, computed once and cached beside the checkpoints."""
    if cache.is_file():
        with np.load(cache) as stored:
            if stored["sentiment"].shape[0] == len(texts):
                return {task: stored[task] for task in TASKS}
    from models.artifact import load_torch_model, tokenizer_source
    from models.classifier import Tokenizer

    spec = ModelSpec.from_dir(teacher_dir)
    for task, names in (("sentiment", spec.sentiments), ("topic", spec.topics)):
        if tuple(names) != tuple(classes[task]):
            raise ModelConfigError(f"the teacher's {task} classes differ from the training data's")
    model = load_torch_model(teacher_dir, spec)
    tokenizer = Tokenizer(tokenizer_source(teacher_dir, spec))
    logits = _logits_over(model, tokenizer, spec, texts)
    cache.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, Any] = dict(logits)
    np.savez(cache, **arrays)
    return logits


@torch.inference_mode()
def _logits_over(model: MultiTaskClassifier, tokenizer: Any, spec: ModelSpec, texts: Sequence[str],
                 batch_size: int = 64) -> dict[str, np.ndarray]:  # fmt: skip
    """Logits of the first window of each text (training texts are tweets: one window)."""
    ids = [chunk.ids for chunk in tokenizer.chunks(texts, spec.max_length, 1, spec.text_normaliser)]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out = {"topic": np.zeros((len(ids), len(spec.topics)), np.float32),
           "sentiment": np.zeros((len(ids), len(spec.sentiments)), np.float32)}  # fmt: skip
    for start in tqdm(range(0, len(order), batch_size), desc="teacher logits", unit="batch", mininterval=10):
        chunk = order[start : start + batch_size]
        input_ids, mask = pad_batch([ids[i] for i in chunk], tokenizer.pad_id)
        topic, sentiment = model(input_ids, mask)
        out["topic"][chunk] = topic.float().numpy()
        out["sentiment"][chunk] = sentiment.float().numpy()
    return out


def _continued_model(parent_dir: Path, config: TrainConfig) -> MultiTaskClassifier:
    """The parent model with its adapter (or encoder) trainable again and its heads loaded."""
    from safetensors.torch import load_file
    from transformers import AutoModel

    parent = ModelSpec.from_dir(parent_dir)
    if (parent.base_model, parent.finetune) != (config.base_model, config.method):
        raise ModelConfigError(
            f"{parent_dir} is a {parent.finetune} fine-tune of {parent.base_model}: "
            f"continue it with --base {parent.base_model} and method {parent.finetune}"
        )
    if parent.finetune == "lora":
        encoder: nn.Module = load_lora_encoder(parent_dir / "adapter", parent.base_model, trainable=True)
    else:
        encoder = AutoModel.from_pretrained(str(parent_dir / "encoder"))
    model = MultiTaskClassifier(encoder, len(parent.topics), len(parent.sentiments))
    model.load_head_state(load_file(str(parent_dir / HEADS_FILE)))
    return model


def _with_lora(encoder: nn.Module, config: TrainConfig) -> nn.Module:
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(
        r=config.lora_rank,
        lora_alpha=config.lora_alpha or 2 * config.lora_rank,
        lora_dropout=config.lora_dropout,
        target_modules=LORA_TARGETS,
        bias="none",
    )
    return get_peft_model(encoder, lora)


class LossFunctions:
    """Per-task cross-entropy on the labels a row has, plus (distilling) KL to the teacher."""

    def __init__(self, config: TrainConfig, data: TrainData):
        self.temperature = config.distill_temperature
        distilling = data.train.teacher_logits is not None
        self.alpha = {t: config.distill_alpha if distilling and t in config.distill_heads else 0.0 for t in TASKS}
        self.unlabelled_weight = config.distill_unlabelled_weight
        weights: dict[str, torch.Tensor | None] = {"topic": None, "sentiment": None}
        if config.sentiment_class_weighting:
            labels = data.train.labels["sentiment"]
            counts = Counter(labels[labels != MISSING].tolist())
            n = len(data.classes["sentiment"])
            w = torch.tensor([1.0 / max(counts.get(i, 1), 1) ** 0.5 for i in range(n)])
            weights["sentiment"] = w * n / w.sum()
        self.cross_entropy = {
            t: nn.CrossEntropyLoss(weight=weights[t], ignore_index=MISSING, reduction="sum") for t in TASKS
        }

    def __call__(
        self, logits: dict[str, torch.Tensor], labels: dict[str, torch.Tensor], teacher: dict[str, torch.Tensor] | None
    ) -> torch.Tensor:
        rows = next(iter(logits.values())).shape[0]
        total = torch.zeros(())
        for task in TASKS:
            alpha = self.alpha[task]
            if (labels[task] != MISSING).any():
                total = total + (1 - alpha) * self.cross_entropy[task](logits[task], labels[task])
            if teacher is not None and alpha > 0:
                t = self.temperature
                per_row = nn.functional.kl_div(
                    nn.functional.log_softmax(logits[task] / t, dim=-1),
                    nn.functional.log_softmax(teacher[task] / t, dim=-1),
                    reduction="none",
                    log_target=True,
                ).sum(dim=-1)
                row_weights = torch.where(labels[task] != MISSING, 1.0, self.unlabelled_weight)
                total = total + alpha * t * t * (per_row * row_weights).sum()
        return total / rows


def _optimizer(model: nn.Module, config: TrainConfig, total_steps: int) -> tuple[torch.optim.Optimizer, Any]:
    from transformers import get_linear_schedule_with_warmup

    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.effective_learning_rate(), weight_decay=config.weight_decay)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(total_steps * config.warmup_ratio), total_steps)
    return optimizer, scheduler


def epoch_batches(examples: Examples, batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffled batches; within buckets of 50 batches, examples are length-sorted."""
    batches: list[list[int]] = []
    bucket = batch_size * 50
    order = list(range(len(examples)))
    rng.shuffle(order)
    for start in range(0, len(order), bucket):
        chunk = sorted(order[start : start + bucket], key=lambda i: len(examples.token_ids[i]))
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def pad_batch(token_ids: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad a batch of token id lists to its longest member."""
    width = max(len(ids) for ids in token_ids)
    input_ids = torch.full((len(token_ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(token_ids), width), dtype=torch.long)
    for row, ids in enumerate(token_ids):
        input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        mask[row, : len(ids)] = 1
    return input_ids, mask


def _train_step(
    model: MultiTaskClassifier,
    examples: Examples,
    indices: list[int],
    losses: LossFunctions,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    pad_id: int,
) -> float:
    input_ids, mask = pad_batch([examples.token_ids[i] for i in indices], pad_id)
    topic_logits, sentiment_logits = model(input_ids, mask)
    logits = {"topic": topic_logits, "sentiment": sentiment_logits}
    labels = {t: torch.from_numpy(examples.labels[t][indices]) for t in TASKS}
    teacher = None
    if examples.teacher_logits is not None:
        teacher = {t: torch.from_numpy(examples.teacher_logits[t][indices]) for t in TASKS}
    loss = losses(logits, labels, teacher)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    scheduler.step()
    return float(loss.item())


@torch.inference_mode()
def task_logits(model: MultiTaskClassifier, examples: Examples, task: str, pad_id: int,
                batch_size: int = 128) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Logits of one head for the rows that carry that task's label, and those labels."""
    model.eval()
    rows = [i for i in np.flatnonzero(examples.labels[task] != MISSING)]
    rows.sort(key=lambda i: len(examples.token_ids[i]))
    out: list[np.ndarray] = []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        input_ids, mask = pad_batch([examples.token_ids[i] for i in chunk], pad_id)
        topic, sentiment = model(input_ids, mask)
        out.append((sentiment if task == "sentiment" else topic).float().numpy())
    n_classes = model.sentiment_head.out_features if task == "sentiment" else model.topic_head.out_features
    logits = np.concatenate(out) if out else np.zeros((0, n_classes), np.float32)
    return logits, examples.labels[task][rows]


def evaluate_task(
    model: MultiTaskClassifier, examples: Examples, task: str, classes: tuple[str, ...], pad_id: int,
    with_confusion: bool = False, temperature: float = 1.0,
) -> dict[str, Any]:  # fmt: skip
    """Metrics of one head on the labelled rows of ``examples`` (ECE included)."""
    logits, labels = task_logits(model, examples, task, pad_id)
    if not len(labels):
        return {"n": 0, "accuracy": None, "macro_f1": None, "ece": None}
    predicted = logits.argmax(axis=1)
    metrics = classification_metrics([classes[i] for i in labels], [classes[i] for i in predicted], classes)
    metrics["ece"] = expected_calibration_error(softmax(logits, temperature), labels)
    if with_confusion:
        from sklearn.metrics import confusion_matrix

        metrics["classes"] = list(classes)
        metrics["confusion"] = confusion_matrix(labels, predicted, labels=range(len(classes))).tolist()
    return metrics


def calibrate(model: MultiTaskClassifier, data: TrainData, pad_id: int) -> tuple[dict[str, float], dict[str, Any]]:
    """Fit one temperature per head on the held-out slice; ECE before and after, there and on validation."""
    temperatures: dict[str, float] = {}
    report: dict[str, Any] = {}
    for task in TASKS:
        logits, labels = task_logits(model, data.holdout, task, pad_id)
        temperature = fit_temperature(logits, labels)
        val_logits, val_labels = task_logits(model, data.validation[task], task, pad_id)
        temperatures[task] = temperature
        report[task] = {
            "temperature": temperature,
            "fitted_on": f"held-out training slice ({len(labels)} texts)",
            "holdout_ece_before": expected_calibration_error(softmax(logits), labels),
            "holdout_ece_after": expected_calibration_error(softmax(logits, temperature), labels),
            "validation_ece_before": expected_calibration_error(softmax(val_logits), val_labels),
            "validation_ece_after": expected_calibration_error(softmax(val_logits, temperature), val_labels),
        }
    return temperatures, report


def _trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def _machine() -> str:
    import platform

    threads = torch.get_num_threads()
    return f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__} ({threads} threads)"


def _save(
    model: MultiTaskClassifier,
    tokenizer: Any,
    classes: dict[str, tuple[str, ...]],
    config: TrainConfig,
    metrics: dict,
    temperatures: dict[str, float],
) -> None:
    import peft
    import transformers
    from safetensors.torch import save_file

    out = config.out_dir
    out.mkdir(parents=True, exist_ok=True)
    encoder: Any = model.encoder
    if config.method == "lora":
        encoder.save_pretrained(str(out / "adapter"))
        portable_adapter_config(out / "adapter", config.base_model)
    else:
        encoder.save_pretrained(str(out / "encoder"))
        tokenizer.save_pretrained(str(out / "encoder"))
    save_file(model.head_state(), str(out / HEADS_FILE))
    version = config.model_version or f"finsent-{config.method}-{datetime.now(UTC):%Y%m%d%H%M}"
    spec = ModelSpec(
        base_model=config.base_model,
        finetune=config.method,
        topics=classes["topic"],
        sentiments=classes["sentiment"],
        model_version=version,
        versions={"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__},
        text_normaliser=config.text_normaliser,
        temperatures=temperatures,
    )
    (out / SPEC_FILE).write_text(spec.to_json())
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
