"""Joint fine-tuning of one encoder with a topic head and a sentiment head.

Batches are single-task (each holds sentiment *or* topic examples) and interleaved at
random, so the shared encoder learns both tasks in every epoch. Batches are built from
length-sorted buckets to keep padding, and so CPU time, low.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
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
    portable_adapter_config,
    resolve_base_path,
)
from models.data import LabelledTexts, read_labelled
from models.exceptions import ModelConfigError
from models.labels import SENTIMENT_CLASSES, resolve_label_map, topic_classes
from models.metrics import classification_metrics
from models.network import MultiTaskClassifier

log = logging.getLogger(__name__)

TASKS = ("sentiment", "topic")
LORA_TARGETS = r".*encoder.*\.(query|key|value|dense)"


@dataclass
class TrainConfig:
    """Everything one training run depends on (saved into metrics.json)."""

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
    patience: int = 2
    batch_size: int = 32
    learning_rate: float | None = None
    warmup_ratio: float = 0.06
    weight_decay: float = 0.01
    max_length: int = 96
    sentiment_class_weighting: bool = True
    seed: int = 13
    limit: int | None = None
    model_version: str | None = None

    def effective_learning_rate(self) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return 5e-4 if self.method == "lora" else 8e-5


@dataclass
class EncodedTask:
    """One task's texts tokenised once, with integer labels."""

    name: str
    classes: tuple[str, ...]
    token_ids: list[list[int]]
    labels: np.ndarray
    texts: list[str] = field(repr=False)


@dataclass
class TrainResult:
    out_dir: Path
    best_epoch: int
    metrics: dict[str, Any]
    seconds: float


def train(config: TrainConfig, progress: bool = True) -> TrainResult:
    """Fine-tune, keep the epoch with the best mean validation macro-F1, save the model dir."""
    if config.method not in {"lora", "full"}:
        raise ModelConfigError(f"method must be 'lora' or 'full', not {config.method!r}")
    started = time.monotonic()
    _seed_everything(config.seed)
    from transformers import AutoModel, AutoTokenizer

    base_path = resolve_base_path(config.base_model)
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    train_sets, val_sets = _load_tasks(config, tokenizer)
    encoder = AutoModel.from_pretrained(base_path)
    if config.method == "lora":
        encoder = _with_lora(encoder, config)
    model = MultiTaskClassifier(encoder, len(train_sets["topic"].classes), len(train_sets["sentiment"].classes))
    loss_fns = _loss_functions(train_sets)
    optimizer, scheduler, steps_per_epoch = _optimizer(model, config, train_sets)
    pad_id = tokenizer.pad_token_id or 0
    best: tuple[float, int, dict[str, torch.Tensor]] | None = None
    history: list[dict[str, object]] = []
    for epoch in range(1, config.epochs + 1):
        batches = _epoch_batches(train_sets, config.batch_size, random.Random(config.seed + epoch))
        loss = _train_epoch(model, batches, train_sets, loss_fns, optimizer, scheduler, pad_id, epoch, progress)
        scores = evaluate_tasks(model, val_sets, pad_id)
        primary = _primary_metric(scores)
        history.append(
            {
                "epoch": epoch,
                "train_loss": round(loss, 4),
                "primary": primary,
                **{t: {k: scores[t][k] for k in ("accuracy", "macro_f1")} for t in TASKS},
            }
        )
        log.info("epoch %d: loss %.4f, %s", epoch, loss, history[-1])
        if progress:
            tqdm.write(json.dumps(history[-1]))
        if best is None or primary > best[0]:
            best = (primary, epoch, _trainable_state(model))
            # A checkpoint per improvement: an interrupted run still leaves its best model behind.
            _save(model, tokenizer, train_sets, config, {"history": history, "best_epoch": epoch, "partial": True})
        elif epoch - best[1] >= config.patience:
            break
    assert best is not None
    model.load_state_dict(best[2], strict=False)
    final = evaluate_tasks(model, val_sets, pad_id, with_confusion=True)
    metrics = {
        "validation": final,
        "best_epoch": best[1],
        "history": history,
        "steps_per_epoch": steps_per_epoch,
        "train_examples": {t: len(train_sets[t].labels) for t in TASKS},
        "train_seconds": round(time.monotonic() - started, 1),
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(config).items()},
    }
    _save(model, tokenizer, train_sets, config, metrics)
    return TrainResult(config.out_dir, best[1], metrics, time.monotonic() - started)


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _load_tasks(config: TrainConfig, tokenizer: Callable) -> tuple[dict[str, EncodedTask], dict[str, EncodedTask]]:
    sentiment_map = resolve_label_map(config.sentiment_label_map)
    topic_map = resolve_label_map(config.topic_label_map)
    raw = {
        "sentiment": (
            read_labelled(config.sentiment_train, sentiment_map),
            read_labelled(config.sentiment_val, sentiment_map),
        ),
        "topic": (read_labelled(config.topic_train, topic_map), read_labelled(config.topic_val, topic_map)),
    }
    classes = {
        "sentiment": SENTIMENT_CLASSES,
        "topic": topic_classes(topic_map, raw["topic"][0].labels),
    }
    unknown = set(raw["sentiment"][0].labels) - set(SENTIMENT_CLASSES)
    if unknown:
        raise ModelConfigError(f"sentiment labels must map to {SENTIMENT_CLASSES}, got {sorted(unknown)}")
    train_sets, val_sets = {}, {}
    for task, (train_rows, val_rows) in raw.items():
        train_sets[task] = _encode(
            task, classes[task], _limited(train_rows, config.limit), tokenizer, config.max_length
        )
        val_sets[task] = _encode(task, classes[task], _limited(val_rows, config.limit), tokenizer, config.max_length)
    return train_sets, val_sets


def _limited(rows: LabelledTexts, limit: int | None) -> LabelledTexts:
    if limit is None:
        return rows
    return LabelledTexts(rows.texts[:limit], rows.labels[:limit])


def _encode(
    task: str, classes: tuple[str, ...], rows: LabelledTexts, tokenizer: Callable, max_length: int
) -> EncodedTask:
    index = {name: i for i, name in enumerate(classes)}
    missing = sorted(set(rows.labels) - set(index))
    if missing:
        raise ModelConfigError(f"{task} labels {missing} are not among the classes {list(classes)}")
    ids = tokenizer(rows.texts, truncation=True, max_length=max_length)["input_ids"]
    labels = np.array([index[label] for label in rows.labels], dtype=np.int64)
    return EncodedTask(task, classes, ids, labels, rows.texts)


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


def _loss_functions(train_sets: dict[str, EncodedTask]) -> dict[str, nn.Module]:
    """Cross-entropy per task; sentiment uses inverse-sqrt-frequency class weights."""
    counts = Counter(train_sets["sentiment"].labels.tolist())
    n_classes = len(train_sets["sentiment"].classes)
    weights = torch.tensor([1.0 / max(counts.get(i, 1), 1) ** 0.5 for i in range(n_classes)])
    weights = weights * n_classes / weights.sum()
    return {"sentiment": nn.CrossEntropyLoss(weight=weights), "topic": nn.CrossEntropyLoss()}


def _optimizer(model: nn.Module, config: TrainConfig, train_sets: dict[str, EncodedTask]):
    from transformers import get_linear_schedule_with_warmup

    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.effective_learning_rate(), weight_decay=config.weight_decay)
    steps_per_epoch = sum(-(-len(t.labels) // config.batch_size) for t in train_sets.values())
    total = steps_per_epoch * config.epochs
    scheduler = get_linear_schedule_with_warmup(optimizer, int(total * config.warmup_ratio), total)
    return optimizer, scheduler, steps_per_epoch


def _epoch_batches(
    train_sets: dict[str, EncodedTask], batch_size: int, rng: random.Random
) -> list[tuple[str, list[int]]]:
    """Shuffled single-task batches; within buckets of 50 batches, examples are length-sorted."""
    batches: list[tuple[str, list[int]]] = []
    bucket = batch_size * 50
    for task, data in train_sets.items():
        order = list(range(len(data.labels)))
        rng.shuffle(order)
        for start in range(0, len(order), bucket):
            chunk = sorted(order[start : start + bucket], key=lambda i: len(data.token_ids[i]))
            batches.extend((task, chunk[i : i + batch_size]) for i in range(0, len(chunk), batch_size))
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


def _train_epoch(model, batches, train_sets, loss_fns, optimizer, scheduler, pad_id, epoch, progress) -> float:
    model.train()
    total, seen = 0.0, 0
    bar = tqdm(batches, desc=f"epoch {epoch}", unit="batch", disable=not progress, mininterval=5)
    for task, indices in bar:
        data = train_sets[task]
        input_ids, mask = pad_batch([data.token_ids[i] for i in indices], pad_id)
        topic_logits, sentiment_logits = model(input_ids, mask)
        logits = sentiment_logits if task == "sentiment" else topic_logits
        loss = loss_fns[task](logits, torch.from_numpy(data.labels[indices]))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        total += loss.item()
        seen += 1
        bar.set_postfix(loss=f"{total / seen:.4f}", refresh=False)
    return total / max(seen, 1)


@torch.inference_mode()
def predict_indices(model: MultiTaskClassifier, data: EncodedTask, pad_id: int, batch_size: int = 128) -> np.ndarray:
    """Predicted class indices for one encoded task, in input order."""
    model.eval()
    order = sorted(range(len(data.token_ids)), key=lambda i: len(data.token_ids[i]))
    predicted = np.empty(len(order), dtype=np.int64)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        input_ids, mask = pad_batch([data.token_ids[i] for i in chunk], pad_id)
        topic_logits, sentiment_logits = model(input_ids, mask)
        logits = sentiment_logits if data.name == "sentiment" else topic_logits
        predicted[chunk] = logits.argmax(dim=-1).numpy()
    return predicted


def evaluate_tasks(
    model: MultiTaskClassifier, val_sets: dict[str, EncodedTask], pad_id: int, with_confusion: bool = False
) -> dict[str, dict[str, object]]:
    """Validation metrics for both tasks (the evaluator training selects epochs with)."""
    results: dict[str, dict[str, object]] = {}
    for task, data in val_sets.items():
        predicted = predict_indices(model, data, pad_id)
        truth_names = [data.classes[i] for i in data.labels]
        pred_names = [data.classes[i] for i in predicted]
        metrics = classification_metrics(truth_names, pred_names, data.classes)
        if with_confusion:
            from sklearn.metrics import confusion_matrix

            metrics["classes"] = list(data.classes)
            metrics["confusion"] = confusion_matrix(data.labels, predicted, labels=range(len(data.classes))).tolist()
        results[task] = metrics
    return results


def _primary_metric(scores: dict[str, dict[str, object]]) -> float:
    return round(float(np.mean([scores[t]["macro_f1"] for t in TASKS])), 4)


def _trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def _save(model: MultiTaskClassifier, tokenizer, train_sets, config: TrainConfig, metrics: dict) -> None:
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
        topics=train_sets["topic"].classes,
        sentiments=train_sets["sentiment"].classes,
        model_version=version,
        versions={"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__},
    )
    (out / SPEC_FILE).write_text(spec.to_json())
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
