"""``train``: one fine-tuning (or distillation) run, from the config to a saved model directory."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from models.bases import resolve_base_path
from models.labels import TASKS
from models.train.build import build_model, build_optimizer
from models.train.config import TrainConfig
from models.train.dataset import TrainData, load_training_data
from models.train.evaluators import (
    Evaluator,
    calibrate,
    holdout_evaluator,
    validation_report,
    with_validation_reports,
)
from models.train.examples import ENTITY
from models.train.losses import joint_loss
from models.train.output import machine, save_model_dir
from models.train.trainer import Progress, Trainer, epoch_plan

EvaluatorFactory = Callable[[TrainData], Evaluator]
"""Makes the evaluator that picks the checkpoint, from the run's data (its held-out slice, its classes)."""


@dataclass
class TrainResult:
    out_dir: Path
    best_epoch: float
    metrics: dict[str, Any]
    seconds: float


def train(
    config: TrainConfig,
    progress: bool = True,
    resume: bool = False,
    stop_after_steps: int | None = None,
    evaluator: EvaluatorFactory = holdout_evaluator,
) -> TrainResult:
    """Fine-tune (or distil), keep the checkpoint the evaluator scores best, calibrate, save the model dir.

    ``resume`` continues from ``OUT/checkpoint`` when one exists. ``stop_after_steps`` ends the
    run abruptly after that many optimiser steps of this call (tests use it to play a crash).
    """
    started = time.monotonic()
    torch.set_num_threads(max(1, int(os.environ.get("FINSENT_TRAIN_THREADS", torch.get_num_threads()))))
    from transformers import AutoTokenizer

    base_path = resolve_base_path(config.base_model)
    tokenizer = AutoTokenizer.from_pretrained(base_path)
    data = load_training_data(config, tokenizer)
    _seed_everything(config.seed)
    model = build_model(config, base_path, data.classes)
    steps_per_epoch = len(epoch_plan(data.train, config, 1))
    optimizer, scheduler = build_optimizer(model, config, steps_per_epoch * config.epochs)

    def save_best(state: Progress) -> None:
        partial = {"history": state.history, "best_epoch": state.best_at, "partial": True}
        save_model_dir(model, tokenizer, data.classes, config, partial, {})

    loss = joint_loss(config, data)
    trainer = Trainer(
        model,
        config,
        data.train,
        loss,
        with_validation_reports(evaluator(data), data),
        optimizer,
        scheduler,
        on_best=save_best,
        show_progress=progress,
    )
    if resume:
        trainer.resume()
    state = trainer.run(stop_after_steps)
    model.load_state_dict(trainer.best_weights(), strict=False)
    metrics, temperatures = _final_metrics(model, data, state, config, steps_per_epoch)
    save_model_dir(model, tokenizer, data.classes, config, metrics, temperatures)
    return TrainResult(config.out_dir, state.best_at, metrics, time.monotonic() - started)


def _final_metrics(
    model: nn.Module, data: TrainData, state: Progress, config: TrainConfig, steps_per_epoch: int
) -> tuple[dict[str, Any], dict[str, float]]:
    """metrics.json of a finished run (the best weights loaded), and the heads' fitted temperatures."""
    temperatures, calibration = calibrate(model, data)
    heads = [*TASKS, ENTITY] if ENTITY in data.train.labels else list(TASKS)
    metrics = {
        "validation": validation_report(model, data, temperatures),
        "calibration": calibration,
        "best_epoch": state.best_at,
        "history": state.history,
        "steps_per_epoch": steps_per_epoch,
        "train_examples": {t: data.train.labelled(t) for t in heads} | {"texts": len(data.train)},
        "holdout_examples": {t: data.holdout.labelled(t) for t in heads},
        "train_seconds": round(state.seconds, 1),
        "machine": machine(),
        "config": config.to_json(),
    }
    return metrics, temperatures


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
