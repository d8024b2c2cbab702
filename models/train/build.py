"""What a run starts from: the network (new, LoRA-wrapped, or a parent model continued) and its optimiser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from models.artifact import HEADS_FILE, ModelSpec, load_lora_encoder
from models.exceptions import ModelConfigError
from models.network import MultiTaskClassifier
from models.train.config import TrainConfig

LORA_TARGETS = r".*encoder\.layer\.\d+\..*\.(query|key|value|q|k|v|o|dense)"
"""Every linear layer inside the transformer blocks (BERT and MPNet names), never the pooler."""


def build_model(config: TrainConfig, base_path: Path | str, classes: dict[str, tuple[str, ...]]) -> MultiTaskClassifier:
    """A fresh encoder from ``base_path`` (LoRA-wrapped unless fully fine-tuned) with new heads, or the parent's."""
    if config.init_from is not None:
        return _continued_model(config.init_from, config)
    from transformers import AutoModel

    encoder = AutoModel.from_pretrained(base_path)
    if config.method == "lora":
        encoder = _with_lora(encoder, config)
    return MultiTaskClassifier(
        encoder, len(classes["topic"]), len(classes["sentiment"]), entity_head=config.has_entities
    )


def build_optimizer(model: nn.Module, config: TrainConfig, total_steps: int) -> tuple[torch.optim.Optimizer, Any]:
    """AdamW over the trainable parameters, with linear warm-up then linear decay to zero."""
    from transformers import get_linear_schedule_with_warmup

    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.effective_learning_rate(), weight_decay=config.weight_decay)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(total_steps * config.warmup_ratio), total_steps)
    return optimizer, scheduler


def _continued_model(parent_dir: Path, config: TrainConfig) -> MultiTaskClassifier:
    """The parent model with its adapter (or encoder) trainable again and its heads loaded.

    Training mentions give it an entity head: the parent's if it has one, else a fresh one.
    """
    from safetensors.torch import load_file
    from transformers import AutoModel

    parent = ModelSpec.from_dir(parent_dir)
    if (parent.base_model, parent.finetune) != (config.base_model, config.method):
        raise ModelConfigError(
            f"{parent_dir} is a {parent.finetune} fine-tune of {parent.base_model}: "
            f"continue it with --base {parent.base_model} and method {parent.finetune}"
        )
    if parent.finetune == "lora":
        encoder: nn.Module = load_lora_encoder(parent_dir / "adapter", parent.base_model, trainable=True)
    else:
        encoder = AutoModel.from_pretrained(str(parent_dir / "encoder"))
    entity_head = parent.entity_head or config.has_entities
    model = MultiTaskClassifier(encoder, len(parent.topics), len(parent.sentiments), entity_head=entity_head)
    model.load_head_state(load_file(str(parent_dir / HEADS_FILE)))
    return model


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
