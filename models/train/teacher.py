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
from models.train.examples import pad_batch


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
        for task, logits in model.logits_by_task(input_ids, mask).items():
            out[task][chunk] = logits.float().numpy()
    return out
