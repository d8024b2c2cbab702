"""``TrainConfig``: everything one training run depends on, checked when it is made."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from models.artifact import DEFAULT_BASE_MODEL, ModelSpec
from models.exceptions import ModelConfigError, ModelError
from models.labels import TASKS
from models.text import NORMALISERS

CHECKPOINT_DIR = "checkpoint"
"""Where under the output directory a run keeps its checkpoints and its config."""
CONFIG_FILE = "config.json"
METHODS = ("lora", "full")


@dataclass(frozen=True)
class EntitySource:
    """A file of texts with per-mention labels (FinEntity's JSONL format), optionally capped.

    ``limit`` keeps a seeded random sample of that many rows (``PATH:LIMIT`` on the command line).
    """

    path: Path
    limit: int | None = None

    @classmethod
    def parse(cls, text: str) -> EntitySource:
        """``PATH`` or ``PATH:LIMIT``."""
        head, colon, tail = text.rpartition(":")
        if colon and tail.isdigit():
            if int(tail) < 1:
                raise ModelConfigError(f"the row limit of {head} must be at least 1, not {tail}")
            return cls(Path(head), int(tail))
        return cls(Path(text))

    def __str__(self) -> str:
        return str(self.path) if self.limit is None else f"{self.path}:{self.limit}"


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
    tweet_sample: int | None = None
    """A seeded random sample of this many rows of each tweet training file (``limit`` takes the first N)."""
    entity_data: tuple[EntitySource, ...] = ()
    """Files of texts with per-mention labels (FinEntity format); with any, the model gets an entity head."""
    entity_val: Path | None = None
    """A FinEntity-format file reported on at every checkpoint and at the end; never used to pick weights."""
    entity_loss_weight: float = 1.0
    entity_label_smoothing: float = 0.05

    def __post_init__(self) -> None:
        self.entity_data = tuple(EntitySource.parse(s) if isinstance(s, str) else s for s in self.entity_data)
        self._check()

    def _check(self) -> None:
        if self.method not in METHODS:
            raise ModelConfigError(f"method must be 'lora' or 'full', not {self.method!r}")
        unknown = sorted(set(self.distill_heads) - set(TASKS))
        if unknown:
            raise ModelConfigError(f"distill_heads names no head: {', '.join(unknown)} (the heads: {', '.join(TASKS)})")
        if not 0.0 <= self.distill_unlabelled_weight <= 1.0:
            weight = self.distill_unlabelled_weight
            raise ModelConfigError(f"distill_unlabelled_weight must lie in [0, 1], not {weight}")
        if self.text_normaliser is not None and self.text_normaliser not in NORMALISERS:
            known = ", ".join(NORMALISERS)
            raise ModelConfigError(f"unknown text normaliser {self.text_normaliser!r} (known: {known})")
        if self.entity_loss_weight < 0 or not 0.0 <= self.entity_label_smoothing < 1.0:
            raise ModelConfigError("entity_loss_weight must be >= 0 and entity_label_smoothing in [0, 1)")
        if self.entity_val is not None and not self.entity_data:
            raise ModelConfigError("entity_val needs entity training data (entity_data)")

    @property
    def has_entities(self) -> bool:
        """Whether the run trains an entity head."""
        return bool(self.entity_data)

    @property
    def checkpoint_dir(self) -> Path:
        return self.out_dir / CHECKPOINT_DIR

    def effective_learning_rate(self) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return 5e-4 if self.method == "lora" else 8e-5

    def to_json(self) -> dict[str, Any]:
        raw = asdict(self)
        raw["transfer_texts"] = [str(p) for p in self.transfer_texts]
        raw["entity_data"] = [str(source) for source in self.entity_data]
        # The card names the models a run started from and learnt from; by the time it is written
        # again, shipping may have put another model in the same folder.
        raw["init_from_version"] = _version_in(self.init_from)
        raw["teacher_version"] = _version_in(self.teacher)
        return {k: str(v) if isinstance(v, Path) else v for k, v in raw.items()}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> TrainConfig:
        paths = {"sentiment_train", "sentiment_val", "topic_train", "topic_val", "out_dir", "teacher", "init_from",
                 "entity_val"}  # fmt: skip
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {
            k: (Path(v) if k in paths and v is not None else v) for k, v in raw.items() if k in known
        }
        values["transfer_texts"] = tuple(Path(p) for p in raw.get("transfer_texts", ()))
        values["distill_heads"] = tuple(raw.get("distill_heads", TASKS))
        values["entity_data"] = tuple(EntitySource.parse(text) for text in raw.get("entity_data", ()))
        return cls(**values)

    def save(self) -> None:
        """Write the config beside the checkpoints, where ``load_config`` finds it."""
        (self.checkpoint_dir / CONFIG_FILE).write_text(json.dumps(self.to_json(), indent=2) + "\n")


def _version_in(directory: Path | None) -> str | None:
    """The version of the finsent model in ``directory``, if there is one there."""
    if directory is None:
        return None
    try:
        return ModelSpec.from_dir(directory).model_version
    except (ModelError, OSError):
        return None


def load_config(out_dir: Path) -> TrainConfig:
    """The configuration a checkpointed run was started with (``finsent train --resume DIR``)."""
    path = out_dir / CHECKPOINT_DIR / CONFIG_FILE
    if not path.is_file():
        raise ModelConfigError(f"{out_dir} holds no checkpoint to resume ({path} missing)")
    return TrainConfig.from_json(json.loads(path.read_text()))
