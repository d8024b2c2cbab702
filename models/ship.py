"""Copy a trained model's loadable parts into ``models/artifacts/NAME`` (what gets committed)."""

from __future__ import annotations

import shutil
from pathlib import Path

from models.artifact import ADAPTER_WEIGHTS, HEADS_FILE, INT8_ADAPTER_WEIGHTS, SPEC_FILE, ModelSpec, quantized_rows
from models.exceptions import ModelConfigError

SHIPPED_FILES = (SPEC_FILE, HEADS_FILE, "metrics.json", "README.md", "confusion_sentiment.png", "confusion_topic.png")


def ship_model(run_dir: Path, dest: Path) -> list[Path]:
    """Copy spec, heads, adapter (int8), metrics and card; never checkpoints or caches.

    Only LoRA models ship: a fully fine-tuned encoder is hundreds of MB. The adapter's factors
    are stored as int8 rows with one scale each, a quarter of their fp32 size, so a rank-32
    mpnet adapter stays well under the 10 MB a shipped model may add to the repository.
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
    _int8_copy(run_dir / "adapter" / ADAPTER_WEIGHTS, staged / "adapter" / INT8_ADAPTER_WEIGHTS)
    shutil.rmtree(dest, ignore_errors=True)
    staged.rename(dest)
    return sorted(p for p in dest.rglob("*") if p.is_file())


def _int8_copy(source: Path, target: Path) -> None:
    from safetensors.torch import load_file, save_file

    save_file(quantized_rows(load_file(str(source))), str(target))
