"""The model directory: what training writes and what inference loads.

Layout::

    finsent_model.json   spec: base model, fine-tune method, classes, versions
    adapter/             LoRA adapter (peft), when fine-tuned with LoRA; shipped models
                         store its factors as int8 rows (adapter_model.int8.safetensors)
    encoder/             full encoder weights and tokenizer, when fully fine-tuned
    heads.safetensors    topic and sentiment heads
    metrics.json, confusion_*.png, README.md (model card)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.bases import STUDENT_BASE, resolve_base_path
from models.exceptions import ModelConfigError

if TYPE_CHECKING:
    from models.network import MultiTaskClassifier

SPEC_FILE = "finsent_model.json"
HEADS_FILE = "heads.safetensors"
ADAPTER_WEIGHTS = "adapter_model.safetensors"
INT8_ADAPTER_WEIGHTS = "adapter_model.int8.safetensors"
"""LoRA factors as int8 rows, each with its fp32 scale (``finsent ship``): about a quarter of fp32."""
_SCALE_SUFFIX = ".row_scale"
DEFAULT_BASE_MODEL = STUDENT_BASE
ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"
STUDENT = "finsent-minilm"
"""The distilled MiniLM: the CPU default."""
TEACHER = "finsent-mpnet"
"""The fine-tuned mpnet (adapter and heads; its base comes from PyPI): the CUDA default."""
SHIPPED_MODELS = (STUDENT, TEACHER)
SHIPPED_MODEL_DIR = ARTIFACTS_DIR / STUDENT


@dataclass(frozen=True)
class ModelSpec:
    """Contents of ``finsent_model.json``."""

    base_model: str
    finetune: str
    topics: tuple[str, ...]
    sentiments: tuple[str, ...]
    model_version: str
    max_length: int = 256
    default_cpu_backend: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    text_normaliser: str | None = None
    """Applied to every text before tokenising, in training and inference alike (models.text)."""
    temperatures: dict[str, float] = field(default_factory=dict)
    """Per head (``sentiment``, ``topic``, ``entity``): logits are divided by it before the softmax."""
    entity_head: bool = False
    """Whether the model scores the sentiment toward each mention (``models.network.EntityHead``)."""
    format: int = 1

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_dir(cls, directory: Path) -> ModelSpec:
        path = directory / SPEC_FILE
        if not path.is_file():
            raise ModelConfigError(f"{directory} is not a finsent model directory (no {SPEC_FILE})")
        raw: dict[str, Any] = json.loads(path.read_text())
        raw["topics"] = tuple(raw["topics"])
        raw["sentiments"] = tuple(raw["sentiments"])
        return cls(**raw)


def default_model_name(on_cuda: bool) -> str:
    """The teacher where a GPU makes it affordable (and it is shipped), else the student."""
    if on_cuda and (ARTIFACTS_DIR / TEACHER / SPEC_FILE).is_file():
        return TEACHER
    return STUDENT


def resolve_model_dir(path_or_hf_id: str | Path | None, on_cuda: bool = False) -> Path:
    """A local finsent model directory: a shipped name, a path, or a hub id (downloaded first).

    ``None`` is the default for the device: ``finsent-mpnet`` on CUDA, ``finsent-minilm`` on CPU.
    """
    if path_or_hf_id is None:
        path_or_hf_id = default_model_name(on_cuda)
    if str(path_or_hf_id) in SHIPPED_MODELS:
        shipped = ARTIFACTS_DIR / str(path_or_hf_id)
        if not (shipped / SPEC_FILE).is_file():
            raise ModelConfigError(f"the shipped model {path_or_hf_id} is missing from {ARTIFACTS_DIR}")
        return shipped
    local = Path(path_or_hf_id).expanduser()
    if local.exists():
        if not (local / SPEC_FILE).is_file():
            raise ModelConfigError(f"{local} is not a finsent model directory (no {SPEC_FILE})")
        return local
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(str(path_or_hf_id)))
    except Exception as exc:
        raise ModelConfigError(
            f"model {path_or_hf_id!r} is neither a local directory nor reachable on the hub: {exc}"
        ) from exc


def tokenizer_source(directory: Path, spec: ModelSpec) -> str:
    if spec.finetune == "full":
        return str(directory / "encoder")
    return resolve_base_path(spec.base_model)


def load_torch_model(directory: Path, spec: ModelSpec) -> MultiTaskClassifier:
    """Build the fp32 network with fine-tuned weights merged in, in eval mode."""
    from safetensors.torch import load_file
    from transformers import AutoModel

    from models.network import MultiTaskClassifier

    if spec.finetune == "lora":
        encoder = load_lora_encoder(directory / "adapter", spec.base_model).merge_and_unload()
    elif spec.finetune == "full":
        encoder = AutoModel.from_pretrained(str(directory / "encoder"))
    else:
        raise ModelConfigError(f"unknown fine-tune method {spec.finetune!r} in {directory}")
    model = MultiTaskClassifier(encoder, len(spec.topics), len(spec.sentiments), entity_head=spec.entity_head)
    model.load_head_state(load_file(str(directory / HEADS_FILE)))
    return model.eval()


def load_lora_encoder(adapter_dir: Path, base_ref: str, trainable: bool = False) -> Any:
    """The base encoder wrapped in its LoRA adapter, stored as peft writes it or as int8 rows."""
    from peft import LoraConfig, PeftModel, get_peft_model, set_peft_model_state_dict
    from safetensors.torch import load_file
    from transformers import AutoModel

    base = AutoModel.from_pretrained(resolve_base_path(base_ref))
    quantized = adapter_dir / INT8_ADAPTER_WEIGHTS
    if not quantized.is_file():
        return PeftModel.from_pretrained(base, str(adapter_dir), is_trainable=trainable)
    config = LoraConfig.from_pretrained(str(adapter_dir))
    config.inference_mode = not trainable
    model = get_peft_model(base, config)
    loaded: Any = set_peft_model_state_dict(model, dequantized_rows(load_file(str(quantized))))
    if loaded.unexpected_keys:
        raise ModelConfigError(f"{quantized} does not fit its adapter config: {loaded.unexpected_keys[0]} is unknown")
    return model


def quantized_rows(tensors: dict[str, Any]) -> dict[str, Any]:
    """Each 2-D float tensor as int8 rows scaled by the row's largest magnitude; others unchanged."""
    import torch

    stored: dict[str, Any] = {}
    for name, tensor in tensors.items():
        if not (tensor.is_floating_point() and tensor.dim() == 2):
            stored[name] = tensor
            continue
        rows = tensor.float()
        scale = (rows.abs().amax(dim=1, keepdim=True) / 127).clamp(min=torch.finfo(torch.float32).tiny)
        stored[name] = torch.round(rows / scale).to(torch.int8)
        stored[name + _SCALE_SUFFIX] = scale
    return stored


def dequantized_rows(stored: dict[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`quantized_rows`, in fp32."""
    tensors: dict[str, Any] = {}
    for name, tensor in stored.items():
        if name.endswith(_SCALE_SUFFIX):
            continue
        scale = stored.get(name + _SCALE_SUFFIX)
        tensors[name] = tensor.float() * scale if scale is not None else tensor
    return tensors


def portable_adapter_config(adapter_dir: Path, base_ref: str) -> None:
    """peft records the absolute base path; replace it with the portable reference."""
    config_path = adapter_dir / "adapter_config.json"
    config = json.loads(config_path.read_text())
    config["base_model_name_or_path"] = base_ref
    config_path.write_text(json.dumps(config, indent=2) + "\n")
