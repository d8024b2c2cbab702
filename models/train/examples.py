"""Tokenised training texts with their labels, and the padded batches the loop feeds the network."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from models.spans import TokenSpan, span_masks

ENTITY = "entity"
"""The labels (``[texts, slots]``) and teacher logits (``[texts, slots, classes]``) of the mentions of each text."""

MISSING = -1
"""The label index of a text that has no label for a task (a sentiment tweet has no topic)."""


@dataclass
class Batch:
    """One padded batch: token ids, attention mask, per task the labels and (distilling) the teacher's logits.

    With mentions, ``mention_mask`` and ``context_mask`` (``[rows, slots, tokens]``, ``models.spans``)
    mark what the entity head pools and ``labels["entity"]`` (``[rows, slots]``) holds their labels.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: dict[str, torch.Tensor]
    teacher: dict[str, torch.Tensor] | None = None
    mention_mask: torch.Tensor | None = None
    context_mask: torch.Tensor | None = None

    def real_mentions(self) -> torch.Tensor:
        """``[rows, slots]``: the slots that hold a labelled mention with tokens in the batch."""
        if self.mention_mask is None or ENTITY not in self.labels:
            return torch.zeros((self.rows, 0), dtype=torch.bool)
        return (self.labels[ENTITY] != MISSING) & (self.mention_mask.sum(dim=-1) > 0)

    @property
    def rows(self) -> int:
        return int(self.input_ids.shape[0])


@dataclass
class Examples:
    """Tokenised texts with, per task, a class index (MISSING where the text has no such label).

    ``mentions`` (with entity data) holds each text's mentions as token spans, in the order of
    ``labels["entity"]``'s slots; a mention cut off by ``max_length`` is None and trains nothing.
    """

    texts: list[str] = field(repr=False)
    token_ids: list[list[int]] = field(repr=False)
    labels: dict[str, np.ndarray]
    teacher_logits: dict[str, np.ndarray] | None = None
    pad_id: int = 0
    mentions: list[list[TokenSpan | None]] | None = field(default=None, repr=False)

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
            self.pad_id,
            None if self.mentions is None else [self.mentions[i] for i in index],
        )

    def batch(self, rows: Sequence[int]) -> Batch:
        """The rows ``rows`` padded to their longest, with their labels and teacher logits."""
        input_ids, mask = pad_batch([self.token_ids[i] for i in rows], self.pad_id)
        labels = {t: torch.from_numpy(v[rows]) for t, v in self.labels.items()}
        teacher = None
        if self.teacher_logits is not None:
            teacher = {t: torch.from_numpy(v[rows]) for t, v in self.teacher_logits.items()}
        batch = Batch(input_ids, mask, labels, teacher)
        if self.mentions is not None and any(self.mentions[i] for i in rows):
            self._add_mentions(batch, rows)
        return batch

    def _add_mentions(self, batch: Batch, rows: Sequence[int]) -> None:
        """The span masks of the rows' mentions, and their labels and teacher logits cut to as many slots."""
        assert self.mentions is not None
        spans = [self.mentions[i] for i in rows]
        lengths = [len(self.token_ids[i]) for i in rows]
        mention, context = span_masks(spans, lengths, batch.input_ids.shape[1])
        slots = mention.shape[1]
        batch.mention_mask, batch.context_mask = torch.from_numpy(mention), torch.from_numpy(context)
        batch.labels[ENTITY] = batch.labels[ENTITY][:, :slots]
        if batch.teacher is not None and ENTITY in batch.teacher:
            batch.teacher[ENTITY] = batch.teacher[ENTITY][:, :slots]

    def labelled(self, task: str) -> int:
        """How many texts (for ``entity``: mentions) carry a label for ``task``."""
        return int((self.labels[task] != MISSING).sum())

    def rows_with_mentions(self) -> list[int]:
        """The texts with at least one labelled mention inside ``max_length``."""
        if self.mentions is None or ENTITY not in self.labels:
            return []
        entity = self.labels[ENTITY]
        return [
            row
            for row, spans in enumerate(self.mentions)
            if any(span is not None and entity[row, slot] != MISSING for slot, span in enumerate(spans))
        ]


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
