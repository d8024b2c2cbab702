"""The training loop and its checkpoint/resume state as one object, ``Trainer``.

Checkpoints (``OUT/checkpoint/``) are written several times an epoch and hold everything the
next step depends on (trainable weights, optimiser, schedule, random state, position), so a
resumed run ends where the unbroken one would have. At each one the evaluator scores the model;
the weights with its best primary metric are kept in ``best.pt``.

On disk: ``state.pt`` (``trainable``, ``optimizer``, ``scheduler``, ``torch_rng``, ``progress``),
``best.pt`` (trainable weights) and ``config.json``; plain tensors and dicts, so a checkpoint
does not depend on where these classes live.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from models.exceptions import ModelConfigError, TrainingStopped
from models.train.config import TrainConfig
from models.train.evaluators import Evaluator
from models.train.examples import Batch, Examples, epoch_batches

log = logging.getLogger(__name__)

STATE_FILE = "state.pt"
BEST_FILE = "best.pt"


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


@dataclass
class Trainer:
    """Trains ``model`` on ``examples`` with ``loss``, checkpointing and keeping the best by ``evaluator``.

    ``loss(model, batch)`` is the mean loss of a batch (it runs the forward pass);
    ``on_best(progress)`` runs after a better checkpoint is kept (training writes the model directory).
    """

    model: nn.Module
    config: TrainConfig
    examples: Examples
    loss: Callable[[nn.Module, Batch], torch.Tensor]
    evaluator: Evaluator
    optimizer: torch.optim.Optimizer
    scheduler: Any
    on_best: Callable[[Progress], None] = lambda progress: None
    show_progress: bool = False
    state: Progress = field(default_factory=Progress)
    _started: float = field(default=0.0, init=False, repr=False)
    _steps_this_call: int = field(default=0, init=False, repr=False)
    _losses: list[float] = field(default_factory=list, init=False, repr=False)

    @property
    def directory(self) -> Path:
        return self.config.checkpoint_dir

    @property
    def steps_per_epoch(self) -> int:
        return len(epoch_plan(self.examples, self.config, 1))

    def resume(self) -> bool:
        """Continue from the saved checkpoint, if there is one: weights, optimiser, schedule, random state."""
        if not (self.directory / STATE_FILE).is_file():
            return False
        payload = torch.load(self.directory / STATE_FILE, weights_only=False)
        self.model.load_state_dict(payload["trainable"], strict=False)
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scheduler.load_state_dict(payload["scheduler"])
        torch.set_rng_state(payload["torch_rng"])
        self.state = state = Progress(**payload["progress"])
        log.info("resuming at epoch %d, batch %d (step %d)", state.epoch, state.next_batch, state.global_step)
        return True

    def run(self, stop_after_steps: int | None = None) -> Progress:
        """Train to the last epoch (or until ``patience`` checkpoints bring nothing better), then checkpoint.

        ``stop_after_steps`` ends the call abruptly after that many optimiser steps (tests play a crash).
        """
        if self.state.done:
            return self.state
        self._started = time.monotonic() - self.state.seconds
        self._steps_this_call, self._losses = 0, []
        bar = tqdm(
            total=self.steps_per_epoch * self.config.epochs,
            initial=self.state.global_step,
            unit="step",
            disable=not self.show_progress,
            mininterval=10,
            desc=f"training {self.config.base_model}",
        )
        with bar:
            while self.state.epoch <= self.config.epochs and not self.state.done:
                self._run_epoch(bar, stop_after_steps)
                self.state.epoch += 1
                self.state.next_batch = 0
        self.state.done = True
        self.state.seconds = time.monotonic() - self._started
        self.save_checkpoint()
        return self.state

    def best_weights(self) -> dict[str, torch.Tensor]:
        """The trainable weights of the best checkpoint."""
        path = self.directory / BEST_FILE
        if not path.is_file():
            raise ModelConfigError(f"{path} missing: the run never reached its first checkpoint")
        weights: dict[str, torch.Tensor] = torch.load(path, weights_only=True)
        return weights

    def save_checkpoint(self) -> None:
        """Write everything the next step depends on (``state.pt``) and the run's config."""
        self.directory.mkdir(parents=True, exist_ok=True)
        payload = {
            "trainable": trainable_state(self.model),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "progress": asdict(self.state),
        }
        atomic_torch_save(payload, self.directory / STATE_FILE)
        self.config.save()

    def _run_epoch(self, bar: tqdm, stop_after_steps: int | None) -> None:
        batches = epoch_plan(self.examples, self.config, self.state.epoch)
        marks = checkpoint_marks(len(batches), self.config.checkpoints_per_epoch)
        self.model.train()
        for index in range(self.state.next_batch, len(batches)):
            loss = self._step(self.examples.batch(batches[index]))
            self._losses.append(loss)
            self.state.global_step += 1
            self._steps_this_call += 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}", epoch=self.state.epoch, refresh=False)
            if stop_after_steps is not None and self._steps_this_call >= stop_after_steps:
                raise TrainingStopped(f"stopped after {self._steps_this_call} steps")
            if index + 1 in marks:
                self.state.next_batch = index + 1
                self.state.seconds = time.monotonic() - self._started
                self._checkpoint(round(self.state.epoch - 1 + (index + 1) / len(batches), 2), index + 1)
                self.model.train()
                if self.state.done:
                    break

    def _step(self, batch: Batch) -> float:
        loss = self.loss(self.model, batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.scheduler.step()
        return float(loss.item())

    def _checkpoint(self, at: float, position: int) -> None:
        """Score the model, keep the best weights, stop when patience runs out, and write a resumable checkpoint."""
        metrics = self.evaluator(self.model)
        # Without a score (no held-out slice) every checkpoint is the best so far: the last one is kept.
        score = metrics[self.evaluator.primary_metric]
        score = at if score is None else score
        entry = {
            "epoch": self.state.epoch,
            "position": position,
            "at": at,
            "step": self.state.global_step,
            "train_loss": round(sum(self._losses) / max(len(self._losses), 1), 4),
            **metrics,
            self.evaluator.primary_metric: score,
            "seconds": round(self.state.seconds, 1),
        }
        self._losses = []
        self.state.history.append(entry)
        log.info("checkpoint at epoch %.2f: %s", at, entry)
        if self.show_progress:
            tqdm.write(json.dumps(entry))
        self.directory.mkdir(parents=True, exist_ok=True)
        if score > self.state.best_score:
            self.state.best_score, self.state.best_at, self.state.since_best = score, at, 0
            atomic_torch_save(trainable_state(self.model), self.directory / BEST_FILE)
            self.on_best(self.state)
        else:
            self.state.since_best += 1
            if self.state.since_best >= self.config.patience:
                log.info("no better held-out score in %d checkpoints: stopping", self.state.since_best)
                self.state.done = True
        self.save_checkpoint()


def epoch_plan(examples: Examples, config: TrainConfig, epoch: int) -> list[list[int]]:
    """The batches of ``epoch``, in order: the same in every run and resumed run of ``config``."""
    return epoch_batches(examples, config.batch_size, random.Random(config.seed + epoch))


def checkpoint_marks(n_batches: int, per_epoch: int) -> set[int]:
    """Batch counts after which an epoch checkpoints: evenly spaced, always including the end."""
    per_epoch = max(1, min(per_epoch, n_batches))
    return {math.ceil(n_batches * k / per_epoch) for k in range(1, per_epoch + 1)}


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Copies of the parameters that train (the adapter and heads under LoRA)."""
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def atomic_torch_save(obj: Any, path: Path) -> None:
    partial = path.with_suffix(".partial")
    torch.save(obj, partial)
    os.replace(partial, path)
