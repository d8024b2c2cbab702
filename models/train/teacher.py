"""Distillation's soft targets: a teacher model's logits for every training text, cached beside the checkpoints."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from models.artifact import ModelSpec
from models.exceptions import ModelConfigError
from models.labels import TASKS
from models.network import MultiTaskClassifier
from models.spans import span_masks
from models.train.examples import ENTITY, pad_batch
from models.train.mentions import CharSpan, tokenize_with_mentions


def teacher_logits(
    teacher_dir: Path,
    texts: Sequence[str],
    classes: dict[str, tuple[str, ...]],
    cache: Path,
    spans: Sequence[Sequence[CharSpan]] | None = None,
) -> dict[str, np.ndarray]:
    """The teacher's raw logits for every text, computed once and cached beside the checkpoints.

    With ``spans`` (each text's mentions) and a teacher with an entity head, also its logits for
    every mention (``entity``: ``[texts, slots, classes]``, NaN where it has none to give).
    """
    spec = ModelSpec.from_dir(teacher_dir)
    wanted = (*TASKS, ENTITY) if spans is not None and spec.entity_head else TASKS
    if cache.is_file():
        with np.load(cache) as stored:
            if set(wanted) <= set(stored.files) and stored["sentiment"].shape[0] == len(texts):
                return {task: stored[task] for task in wanted}
    from transformers import AutoTokenizer

    from models.artifact import load_torch_model, tokenizer_source
    from models.classifier import Tokenizer

    for task, names in (("sentiment", spec.sentiments), ("topic", spec.topics)):
        if tuple(names) != tuple(classes[task]):
            raise ModelConfigError(f"the teacher's {task} classes differ from the training data's")
    model = load_torch_model(teacher_dir, spec)
    tokenizer = Tokenizer(tokenizer_source(teacher_dir, spec))
    logits = _logits_over(model, tokenizer, spec, texts)
    if ENTITY in wanted:
        assert spans is not None
        fast = AutoTokenizer.from_pretrained(tokenizer_source(teacher_dir, spec))
        logits[ENTITY] = _mention_logits(model, fast, spec, texts, spans)
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
        for task, logits in model.logits_by_task(input_ids, mask).items():
            out[task][chunk] = logits.float().numpy()
    return out


@torch.inference_mode()
def _mention_logits(model: MultiTaskClassifier, tokenizer: Any, spec: ModelSpec, texts: Sequence[str],
                    spans: Sequence[Sequence[CharSpan]], batch_size: int = 32) -> np.ndarray:  # fmt: skip
    """The teacher's entity logits ``[texts, slots, classes]``, read as the teacher reads (its normaliser)."""
    slots = max((len(row) for row in spans), default=0) or 1
    out = np.full((len(texts), slots, len(spec.sentiments)), np.nan, np.float32)
    rows = [i for i, row in enumerate(spans) if row]
    ids, mentions = tokenize_with_mentions(
        tokenizer, [texts[i] for i in rows], [spans[i] for i in rows], spec.text_normaliser, spec.max_length
    )
    pad_id = tokenizer.pad_token_id or 0
    for start in tqdm(range(0, len(rows), batch_size), desc="teacher mentions", unit="batch", mininterval=10):
        chunk = range(start, min(start + batch_size, len(rows)))
        input_ids, mask = pad_batch([ids[k] for k in chunk], pad_id)
        mention, context = span_masks([mentions[k] for k in chunk], [len(ids[k]) for k in chunk], input_ids.shape[1])
        _, _, entity = model.forward_with_entities(
            input_ids, mask, torch.from_numpy(mention), torch.from_numpy(context)
        )
        for offset, k in enumerate(chunk):
            for slot, span in enumerate(mentions[k]):
                if span is not None:
                    out[rows[k], slot] = entity[offset, slot].float().numpy()
    return out
