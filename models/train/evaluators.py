"""Evaluators: callables that score a model and name the metric that says how good it is.

Training is handed one (``train(..., evaluator=...)``); at every checkpoint it calls it and keeps
the weights whose primary metric is highest. The default, ``holdout_evaluator``, is the mean
macro-F1 of the heads on the held-out slice of the training texts. A new head adds its own
evaluator to that mean; the loop does not change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from models.calibration import expected_calibration_error, fit_temperature, softmax
from models.labels import TASKS
from models.metrics import classification_metrics
from models.train.dataset import TrainData
from models.train.examples import ENTITY, MISSING, Examples
from models.train.mentions import is_mixed


class Evaluator(Protocol):
    """Scores a model: a metric dict whose ``primary_metric`` entry is higher when better (None: no score)."""

    @property
    def name(self) -> str: ...

    @property
    def primary_metric(self) -> str: ...

    def __call__(self, model: nn.Module) -> dict[str, Any]: ...


@dataclass
class HeadEvaluator:
    """One head's metrics on the rows of ``examples`` that carry its label (ECE included)."""

    task: str
    examples: Examples
    classes: tuple[str, ...]
    with_confusion: bool = False
    temperature: float = 1.0
    primary_metric: str = "macro_f1"

    @property
    def name(self) -> str:
        return self.task

    def __call__(self, model: nn.Module) -> dict[str, Any]:
        logits, labels = task_logits(model, self.examples, self.task)
        if not len(labels):
            return {"n": 0, "accuracy": None, "macro_f1": None, "ece": None}
        return scored(logits, labels, self.classes, self.temperature, self.with_confusion)


def scored(
    logits: np.ndarray, labels: np.ndarray, classes: tuple[str, ...], temperature: float, with_confusion: bool
) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class scores and ECE of ``logits`` against ``labels`` (and the confusion matrix)."""
    predicted = logits.argmax(axis=1)
    metrics = classification_metrics([classes[i] for i in labels], [classes[i] for i in predicted], classes)
    metrics["ece"] = expected_calibration_error(softmax(logits, temperature), labels)
    if with_confusion:
        from sklearn.metrics import confusion_matrix

        metrics["classes"] = list(classes)
        metrics["confusion"] = confusion_matrix(labels, predicted, labels=range(len(classes))).tolist()
    return metrics


@dataclass
class MeanEvaluator:
    """Several evaluators as one: each one's ``summary`` metrics under its name, their mean primary metric as its own.

    An evaluator without a score (no labelled rows) is left out of the mean; with none scored, the score is None.
    """

    evaluators: Sequence[Evaluator]
    name: str = "holdout"
    primary_metric: str = "holdout_score"
    summary: tuple[str, ...] = ("accuracy", "macro_f1")

    def __call__(self, model: nn.Module) -> dict[str, Any]:
        results = [(evaluator, evaluator(model)) for evaluator in self.evaluators]
        scored = [result[e.primary_metric] for e, result in results if result[e.primary_metric] is not None]
        score = round(float(np.mean(scored)), 4) if scored else None
        summaries = {e.name: {k: result[k] for k in self.summary} for e, result in results}
        return {self.primary_metric: score, **summaries}


@dataclass
class EntityEvaluator:
    """The entity head on the labelled mentions of ``examples``: overall and on mixed texts' mentions.

    A mixed text is one whose labelled mentions disagree: there a copied document label must fail.
    """

    examples: Examples
    classes: tuple[str, ...]
    temperature: float = 1.0
    with_confusion: bool = False
    name: str = ENTITY
    primary_metric: str = "macro_f1"

    def __call__(self, model: nn.Module) -> dict[str, Any]:
        logits, labels, mixed = entity_logits(model, self.examples)
        if not len(labels):
            return {"n": 0, "accuracy": None, "macro_f1": None, "ece": None, "mixed": None}
        metrics = scored(logits, labels, self.classes, self.temperature, self.with_confusion)
        metrics["mixed"] = {"n": 0, "accuracy": None, "macro_f1": None}
        if mixed.any():
            on_mixed = scored(logits[mixed], labels[mixed], self.classes, self.temperature, False)
            metrics["mixed"] = {k: on_mixed[k] for k in ("n", "accuracy", "macro_f1")}
        return metrics


@dataclass
class ReportingEvaluator:
    """``selector``'s metrics and primary metric, with report-only evaluators' results beside them.

    The reports go into the training log and history but never pick a checkpoint (a dev set).
    """

    selector: Evaluator
    reports: Sequence[Evaluator]
    summary: tuple[str, ...] = ("n", "accuracy", "macro_f1", "mixed")

    @property
    def name(self) -> str:
        return self.selector.name

    @property
    def primary_metric(self) -> str:
        return self.selector.primary_metric

    def __call__(self, model: nn.Module) -> dict[str, Any]:
        metrics = self.selector(model)
        for report in self.reports:
            result = report(model)
            metrics[report.name] = {k: result[k] for k in self.summary if k in result}
        return metrics


def holdout_evaluator(data: TrainData) -> MeanEvaluator:
    """What picks the checkpoint: the heads' mean macro-F1 on the held-out slice of the training texts.

    With mentions among the training texts, the entity head's macro-F1 on the held-out ones joins the mean.
    """
    evaluators: list[Evaluator] = [HeadEvaluator(task, data.holdout, data.classes[task]) for task in TASKS]
    if ENTITY in data.holdout.labels:
        evaluators.append(EntityEvaluator(data.holdout, data.classes["sentiment"]))
    return MeanEvaluator(evaluators)


def with_validation_reports(evaluator: Evaluator, data: TrainData) -> Evaluator:
    """``evaluator``, reporting the entity validation file (if any) at every checkpoint as ``entity_val``."""
    if ENTITY not in data.validation:
        return evaluator
    report = EntityEvaluator(data.validation[ENTITY], data.classes["sentiment"], name="entity_val")
    return ReportingEvaluator(evaluator, [report])


def validation_report(model: nn.Module, data: TrainData, temperatures: dict[str, float]) -> dict[str, Any]:
    """The final figures: each head on its validation file, with confusion matrix and calibrated ECE."""
    report: dict[str, Any] = {
        task: HeadEvaluator(task, data.validation[task], data.classes[task], True, temperatures[task])(model)
        for task in TASKS
    }
    if ENTITY in data.validation:
        classes = data.classes["sentiment"]
        report[ENTITY] = EntityEvaluator(data.validation[ENTITY], classes, temperatures[ENTITY], True)(model)
    return report


@torch.inference_mode()
def task_logits(model: Any, examples: Examples, task: str, batch_size: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """Logits of one head for the rows that carry that task's label, and those labels."""
    model.eval()
    rows = [int(i) for i in np.flatnonzero(examples.labels[task] != MISSING)]
    rows.sort(key=lambda i: len(examples.token_ids[i]))
    out: list[np.ndarray] = []
    for start in range(0, len(rows), batch_size):
        batch = examples.batch(rows[start : start + batch_size])
        out.append(model.logits_by_task(batch.input_ids, batch.attention_mask)[task].float().numpy())
    n_classes = getattr(model, f"{task}_head").out_features
    logits = np.concatenate(out) if out else np.zeros((0, n_classes), np.float32)
    return logits, examples.labels[task][rows]


@torch.inference_mode()
def entity_logits(model: Any, examples: Examples, batch_size: int = 32) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The entity head's logits for every labelled mention with tokens, their labels and whether each text is mixed."""
    model.eval()
    rows = examples.rows_with_mentions()
    rows.sort(key=lambda i: len(examples.token_ids[i]))
    logits: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    mixed: list[bool] = []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        batch = examples.batch(chunk)
        assert batch.mention_mask is not None and batch.context_mask is not None
        _, _, entity = model.forward_with_entities(
            batch.input_ids, batch.attention_mask, batch.mention_mask, batch.context_mask
        )
        real = batch.real_mentions()
        logits.append(entity[real].float().numpy())
        labels.append(batch.labels[ENTITY][real].numpy())
        for row, row_real in zip(chunk, real, strict=True):
            row_labels = examples.labels[ENTITY][row]
            mixed += [is_mixed(row_labels[row_labels != MISSING].tolist())] * int(row_real.sum())
    n_classes = model.entity_head.linear.out_features
    if not logits:
        return np.zeros((0, n_classes), np.float32), np.zeros(0, np.int64), np.zeros(0, bool)
    return np.concatenate(logits), np.concatenate(labels), np.asarray(mixed, dtype=bool)


def _head_logits(model: nn.Module, examples: Examples, task: str) -> tuple[np.ndarray, np.ndarray]:
    if task == ENTITY:
        logits, labels, _ = entity_logits(model, examples)
        return logits, labels
    return task_logits(model, examples, task)


def calibrate(model: nn.Module, data: TrainData) -> tuple[dict[str, float], dict[str, Any]]:
    """Fit one temperature per head on the held-out slice; ECE before and after, there and on validation."""
    temperatures: dict[str, float] = {}
    report: dict[str, Any] = {}
    heads = (*TASKS, ENTITY) if ENTITY in data.holdout.labels else TASKS
    for task in heads:
        logits, labels = _head_logits(model, data.holdout, task)
        temperature = fit_temperature(logits, labels)
        if task in data.validation:
            val_logits, val_labels = _head_logits(model, data.validation[task], task)
        else:
            val_logits, val_labels = np.zeros((0, logits.shape[1]), np.float32), np.zeros(0, np.int64)
        temperatures[task] = temperature
        report[task] = {
            "temperature": temperature,
            "fitted_on": f"held-out training slice ({len(labels)} {'mentions' if task == ENTITY else 'texts'})",
            "holdout_ece_before": expected_calibration_error(softmax(logits), labels),
            "holdout_ece_after": expected_calibration_error(softmax(logits, temperature), labels),
            "validation_ece_before": expected_calibration_error(softmax(val_logits), val_labels),
            "validation_ece_after": expected_calibration_error(softmax(val_logits, temperature), val_labels),
        }
    return temperatures, report
