"""The model directory a run writes: adapter (or encoder), heads, spec and metrics."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from typing import Any

import torch

from models.artifact import HEADS_FILE, SPEC_FILE, ModelSpec, portable_adapter_config
from models.network import MultiTaskClassifier
from models.train.config import TrainConfig


def save_model_dir(
    model: MultiTaskClassifier,
    tokenizer: Any,
    classes: dict[str, tuple[str, ...]],
    config: TrainConfig,
    metrics: dict[str, Any],
    temperatures: dict[str, float],
) -> None:
    """Write ``config.out_dir`` as a finsent model directory ``Classifier.load`` reads."""
    import peft
    import transformers
    from safetensors.torch import save_file

    out = config.out_dir
    out.mkdir(parents=True, exist_ok=True)
    encoder: Any = model.encoder
    if config.method == "lora":
        encoder.save_pretrained(str(out / "adapter"))
        portable_adapter_config(out / "adapter", config.base_model)
    else:
        encoder.save_pretrained(str(out / "encoder"))
        tokenizer.save_pretrained(str(out / "encoder"))
    save_file(model.head_state(), str(out / HEADS_FILE))
    version = config.model_version or f"finsent-{config.method}-{datetime.now(UTC):%Y%m%d%H%M}"
    spec = ModelSpec(
        base_model=config.base_model,
        finetune=config.method,
        topics=classes["topic"],
        sentiments=classes["sentiment"],
        model_version=version,
        versions={"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__},
        text_normaliser=config.text_normaliser,
        temperatures=temperatures,
        entity_head=model.entity_head is not None,
    )
    (out / SPEC_FILE).write_text(spec.to_json())
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")


def machine() -> str:
    """The host a run trained on, for metrics.json."""
    threads = torch.get_num_threads()
    return f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__} ({threads} threads)"
