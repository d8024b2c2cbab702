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
from models.train.examples import ENTITY, MISSING, Batch

Logits = dict[str, torch.Tensor]


class Objective(Protocol):
    """One part of the loss: its terms for a batch, each summed (not averaged) over the batch's rows."""

    def terms(self, logits: Logits, batch: Batch) -> list[torch.Tensor]: ...


def head_logits(model: Any, batch: Batch) -> Logits:
    """The forward pass of ``MultiTaskClassifier``: each head's logits by task name."""
    logits: Logits = model.logits_by_task(batch.input_ids, batch.attention_mask)
    return logits


def entity_forward(model: Any, batch: Batch) -> Logits:
    """``head_logits``, plus the entity head's ``[rows, slots, classes]`` when the batch has mentions."""
    if batch.mention_mask is None or batch.context_mask is None:
        return head_logits(model, batch)
    topic, sentiment, entity = model.forward_with_entities(
        batch.input_ids, batch.attention_mask, batch.mention_mask, batch.context_mask
    )
    return {"topic": topic, "sentiment": sentiment, ENTITY: entity}


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


@dataclass
class EntityLoss:
    """Per labelled mention, cross-entropy (label-smoothed) plus, distilling, the teacher's soft loss.

    Summed over the batch's mentions and scaled by ``weight``; mentions without a label or
    without tokens (cut off by ``max_length``) and texts without mentions add nothing. The soft
    loss covers the mentions the teacher scored (its entity logits are NaN elsewhere).
    """

    weight: float = 1.0
    label_smoothing: float = 0.05
    alpha: float = 0.0
    temperature: float = 2.0

    def terms(self, logits: Logits, batch: Batch) -> list[torch.Tensor]:
        if ENTITY not in logits:
            return []
        real = batch.real_mentions()
        if not real.any():
            return []
        head, labels = logits[ENTITY][real], batch.labels[ENTITY][real]
        ce = nn.functional.cross_entropy(head, labels, label_smoothing=self.label_smoothing, reduction="sum")
        teacher = None if batch.teacher is None else batch.teacher.get(ENTITY)
        if teacher is None or self.alpha <= 0:
            return [self.weight * ce]
        scored = teacher[real]
        known = torch.isfinite(scored).all(dim=-1)
        t = self.temperature
        soft = soft_loss_per_row(head[known], scored[known], t).sum()
        return [self.weight * (1 - self.alpha) * ce, self.weight * self.alpha * t * t * soft]


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
    if not config.has_entities:
        return JointLoss(heads)
    entity_distilled = distilling and ENTITY in (data.train.teacher_logits or {})
    entity = EntityLoss(
        config.entity_loss_weight,
        config.entity_label_smoothing,
        alpha=config.distill_alpha if entity_distilled else 0.0,
        temperature=config.distill_temperature,
    )
    return JointLoss([*heads, entity], forward=entity_forward)


def _class_weights(labels: np.ndarray, n_classes: int) -> torch.Tensor:
    """Inverse square-root frequency weights, scaled to average one (rare sentiments count more)."""
    counts = Counter(labels[labels != MISSING].tolist())
    w = torch.tensor([1.0 / max(counts.get(i, 1), 1) ** 0.5 for i in range(n_classes)])
    return w * n_classes / w.sum()
