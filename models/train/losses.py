"""The training loss: per head, cross-entropy on the labels a text has plus (distilling) KL to the teacher.

The loop sees one callable, ``JointLoss(model, batch)``: it runs the forward pass and sums the
terms of its objectives. A new head brings an objective (anything with ``terms``) and, if the
network needs more than token ids, its own ``forward``; the loop does not change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from models.labels import TASKS
from models.train.config import TrainConfig
from models.train.dataset import TrainData
from models.train.examples import MISSING, Batch

Logits = dict[str, torch.Tensor]


class Objective(Protocol):
    """One part of the loss: its terms for a batch, each summed (not averaged) over the batch's rows."""

    def terms(self, logits: Logits, batch: Batch) -> list[torch.Tensor]: ...


def head_logits(model: Any, batch: Batch) -> Logits:
    """The forward pass of ``MultiTaskClassifier``: each head's logits by task name."""
    logits: Logits = model.logits_by_task(batch.input_ids, batch.attention_mask)
    return logits


def soft_loss_per_row(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """KL(teacher || student) per row, both softened by ``temperature``."""
    return nn.functional.kl_div(
        nn.functional.log_softmax(student / temperature, dim=-1),
        nn.functional.log_softmax(teacher / temperature, dim=-1),
        reduction="none",
        log_target=True,
    ).sum(dim=-1)


@dataclass
class HeadLoss:
    """One text-level head: ``1 - alpha`` of its cross-entropy plus ``alpha`` of the teacher's soft loss.

    Texts without this head's label add no cross-entropy; their soft loss weighs ``unlabelled_weight``.
    """

    task: str
    cross_entropy: nn.CrossEntropyLoss
    alpha: float = 0.0
    temperature: float = 2.0
    unlabelled_weight: float = 1.0

    def terms(self, logits: Logits, batch: Batch) -> list[torch.Tensor]:
        labels, head = batch.labels[self.task], logits[self.task]
        terms = []
        if (labels != MISSING).any():
            terms.append((1 - self.alpha) * self.cross_entropy(head, labels))
        if batch.teacher is not None and self.alpha > 0:
            t = self.temperature
            per_row = soft_loss_per_row(head, batch.teacher[self.task], t)
            row_weights = torch.where(labels != MISSING, 1.0, self.unlabelled_weight)
            terms.append(self.alpha * t * t * (per_row * row_weights).sum())
        return terms


class JointLoss:
    """The mean loss per row of a batch: every objective's terms, after one forward pass."""

    def __init__(self, objectives: Sequence[Objective], forward: Callable[[Any, Batch], Logits] = head_logits) -> None:
        self.objectives = list(objectives)
        self.forward = forward

    def __call__(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        return self.of_logits(self.forward(model, batch), batch)

    def of_logits(self, logits: Logits, batch: Batch) -> torch.Tensor:
        total = torch.zeros(())
        for objective in self.objectives:
            for term in objective.terms(logits, batch):
                total = total + term
        return total / batch.rows


def joint_loss(config: TrainConfig, data: TrainData) -> JointLoss:
    """The loss of a run: a ``HeadLoss`` per task, distilled where the config says and a teacher is there."""
    distilling = data.train.teacher_logits is not None
    weighted = {"sentiment"} if config.sentiment_class_weighting else set()
    heads = [
        HeadLoss(
            task,
            nn.CrossEntropyLoss(
                weight=_class_weights(data.train.labels[task], len(data.classes[task])) if task in weighted else None,
                ignore_index=MISSING,
                reduction="sum",
            ),
            alpha=config.distill_alpha if distilling and task in config.distill_heads else 0.0,
            temperature=config.distill_temperature,
            unlabelled_weight=config.distill_unlabelled_weight,
        )
        for task in TASKS
    ]
    return JointLoss(heads)


def _class_weights(labels: np.ndarray, n_classes: int) -> torch.Tensor:
    """Inverse square-root frequency weights, scaled to average one (rare sentiments count more)."""
    counts = Counter(labels[labels != MISSING].tolist())
    w = torch.tensor([1.0 / max(counts.get(i, 1), 1) ** 0.5 for i in range(n_classes)])
    return w * n_classes / w.sum()
