"""Copy a trained model's loadable parts into ``models/artifacts/NAME`` (what gets committed)."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from models.artifact import ADAPTER_WEIGHTS, HEADS_FILE, INT8_ADAPTER_WEIGHTS, SPEC_FILE, ModelSpec, quantized_rows
from models.exceptions import ModelConfigError

ENTITY_HEAD = "entity_head"
"""The entity head's prefix in ``heads.safetensors`` (``models.network.MultiTaskClassifier.HEADS``)."""
SHIPPED_FILES = (SPEC_FILE, HEADS_FILE, "metrics.json", "README.md", "confusion_sentiment.png", "confusion_topic.png")


def ship_model(run_dir: Path, dest: Path, *, entity_head: bool = True) -> list[Path]:
    """Copy spec, heads, adapter (int8), metrics and card; never checkpoints or caches.

    Only LoRA models ship: a fully fine-tuned encoder is hundreds of MB. The adapter's factors
    are stored as int8 rows with one scale each, a quarter of their fp32 size, so a rank-32
    mpnet adapter stays well under the 10 MB a shipped model may add to the repository.
    With ``entity_head=False`` a run's entity head is left behind (spec, weights, temperature):
    the model then reads documents only, and a route sending it documents has their mentions
    read by the served model's head (``docs/routes.md``).
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
    if spec.entity_head and not entity_head:
        _drop_entity_head(spec, staged)
    shutil.rmtree(dest, ignore_errors=True)
    staged.rename(dest)
    return sorted(p for p in dest.rglob("*") if p.is_file())


def _int8_copy(source: Path, target: Path) -> None:
    from safetensors.torch import load_file, save_file

    save_file(quantized_rows(load_file(str(source))), str(target))


def _drop_entity_head(spec: ModelSpec, staged: Path) -> None:
    from safetensors.torch import load_file, save_file

    heads = load_file(str(staged / HEADS_FILE))
    save_file({k: v for k, v in heads.items() if not k.startswith(f"{ENTITY_HEAD}.")}, str(staged / HEADS_FILE))
    temperatures = {head: t for head, t in spec.temperatures.items() if head != "entity"}
    (staged / SPEC_FILE).write_text(dataclasses.replace(spec, entity_head=False, temperatures=temperatures).to_json())
