"""Copy a trained model's loadable parts into ``models/artifacts/NAME`` (what gets committed)."""

from __future__ import annotations

import shutil
from pathlib import Path

from models.artifact import HEADS_FILE, SPEC_FILE, ModelSpec
from models.exceptions import ModelConfigError

SHIPPED_FILES = (SPEC_FILE, HEADS_FILE, "metrics.json", "README.md", "confusion_sentiment.png", "confusion_topic.png")
ADAPTER_WEIGHTS = "adapter_model.safetensors"


def ship_model(run_dir: Path, dest: Path) -> list[Path]:
    """Copy spec, heads, adapter (fp16), metrics and card; never checkpoints or caches.

    Only LoRA models ship: a fully fine-tuned encoder is hundreds of MB. The adapter is stored
    in fp16, which halves it; it is cast back to the base's dtype when loaded.
    """
    spec = ModelSpec.from_dir(run_dir)
    if spec.finetune != "lora":
        raise ModelConfigError(f"{run_dir} is a full fine-tune: only LoRA adapters and heads are shipped")
    staged = dest.with_name(f".{dest.name}.partial")
    shutil.rmtree(staged, ignore_errors=True)
    (staged / "adapter").mkdir(parents=True)
    for name in SHIPPED_FILES:
        if (run_dir / name).is_file():
            shutil.copy2(run_dir / name, staged / name)
    shutil.copy2(run_dir / "adapter" / "adapter_config.json", staged / "adapter" / "adapter_config.json")
    _half_precision_copy(run_dir / "adapter" / ADAPTER_WEIGHTS, staged / "adapter" / ADAPTER_WEIGHTS)
    shutil.rmtree(dest, ignore_errors=True)
    staged.rename(dest)
    return sorted(p for p in dest.rglob("*") if p.is_file())


def _half_precision_copy(source: Path, target: Path) -> None:
    import torch
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(source))
    save_file({k: v.to(torch.float16) if v.is_floating_point() else v for k, v in tensors.items()}, str(target))
