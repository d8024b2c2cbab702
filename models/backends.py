"""Inference backends: each turns padded token ids into (topic logits, sentiment logits).

A model with an entity head also takes mention and context masks (``[rows, slots, tokens]``,
``models.spans``) and returns the per-mention sentiment logits of the same pass (``with_entities``).
Backends take and return numpy arrays so the classifier does not care which runtime runs
the network. Torch is imported only by the torch backends, so ONNX Runtime alone loads fast.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from models.exceptions import ModelConfigError, ModelError

if TYPE_CHECKING:
    from models.network import MultiTaskClassifier

CPU_BACKENDS = ("torch-fp32", "torch-int8", "onnx-fp32", "onnx-int8")
CUDA_BACKENDS = ("cuda-bf16", "cuda-fp16", "cuda-fp32")
FALLBACK_CPU_BACKEND = "onnx-int8"

Logits = tuple[np.ndarray, np.ndarray]
EntityLogits = tuple[np.ndarray, np.ndarray, np.ndarray]
"""Topic ``[rows, topics]``, sentiment ``[rows, sentiments]`` and entity ``[rows, slots, sentiments]`` logits."""


class Backend(Protocol):
    name: str

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> Logits: ...

    def with_entities(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, mention_mask: np.ndarray, context_mask: np.ndarray
    ) -> EntityLogits: ...


def _no_entity_head(name: str) -> ModelError:
    return ModelError(f"the {name} backend's model has no entity head")


def cpu_threads() -> int:
    """The cores this process may use: torch's intra-op threads, ONNX Runtime's lanes."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


@dataclass
class TorchBackend:
    """The torch network on CPU (fp32 or dynamic int8) or CUDA (autocast to bf16/fp16)."""

    name: str
    model: MultiTaskClassifier
    device: str = "cpu"
    autocast_dtype: object | None = None

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> Logits:
        topic, sentiment = self._run(self.model, input_ids, attention_mask)
        return topic, sentiment

    def with_entities(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, mention_mask: np.ndarray, context_mask: np.ndarray
    ) -> EntityLogits:
        if getattr(self.model, "entity_head", None) is None:
            raise _no_entity_head(self.name)
        topic, sentiment, entity = self._run(
            self.model.forward_with_entities, input_ids, attention_mask, mention_mask, context_mask
        )
        return topic, sentiment, entity

    def _run(self, function: Callable[..., tuple], *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
        import torch

        tensors = [torch.from_numpy(array) for array in arrays]
        if self.device != "cpu":
            tensors = [tensor.pin_memory().to(self.device, non_blocking=True) for tensor in tensors]
        with (
            torch.inference_mode(),
            torch.autocast(
                device_type="cuda" if self.device != "cpu" else "cpu",
                dtype=self.autocast_dtype,  # type: ignore[arg-type]
                enabled=self.autocast_dtype is not None,
            ),
        ):
            outputs = function(*tensors)
        return tuple(output.float().cpu().numpy() for output in outputs)


@dataclass
class OnnxBackend:
    """An exported ONNX graph run by ONNX Runtime on the CPU.

    A call's rows are split into ``lanes`` slices (one per core by default) run at once, each by
    one thread, instead of one run whose operators are split across threads: a slice's matrix
    products need no thread to wait for the others between operators. On 2 cores, the student
    alone over the pipeline benchmark's 5,000 texts, three alternated rounds: 578 / 566 / 530 →
    717 / 625 / 673 texts/s; a worker from a backlog, with stories: 417 / 393 → 460 / 414 docs/s
    (docs/performance.md, "Lanes"). Being single-threaded, a run never spins on a core the
    worker's story index, Faust or store needs.
    """

    name: str
    path: Path
    lanes: int = 0
    """Slices a call's rows are split into and run at once; 0: one per core this process may use."""

    def __post_init__(self) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        self._entity_graph = "mention_mask" in {node.name for node in self._session.get_inputs()}
        self.lanes = self.lanes or cpu_threads()
        self._pool = ThreadPoolExecutor(self.lanes - 1, "finsent-onnx") if self.lanes > 1 else None

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> Logits:
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask}
        if self._entity_graph:
            # One graph serves both paths: an all-zero mention slot costs tens of thousands of
            # multiply-adds per row next to the encoder's hundreds of millions (docs/models.md).
            empty = np.zeros((input_ids.shape[0], 1, input_ids.shape[1]), dtype=np.float32)
            feeds |= {"mention_mask": empty, "context_mask": empty}
        topic, sentiment = self._run(["topic_logits", "sentiment_logits"], feeds)
        return topic, sentiment

    def with_entities(
        self, input_ids: np.ndarray, attention_mask: np.ndarray, mention_mask: np.ndarray, context_mask: np.ndarray
    ) -> EntityLogits:
        if not self._entity_graph:
            raise _no_entity_head(self.name)
        topic, sentiment, entity = self._run(
            ["topic_logits", "sentiment_logits", "entity_logits"],
            {
                "input_ids": input_ids,
                "attention_mask": attention_mask,
                "mention_mask": mention_mask.astype(np.float32, copy=False),
                "context_mask": context_mask.astype(np.float32, copy=False),
            },
        )
        return topic, sentiment, entity

    def _run(self, outputs: list[str], feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """The graph's ``outputs`` for ``feeds``, its rows split across the lanes; rows in input order."""
        slices = row_slices(len(feeds["input_ids"]), self.lanes)
        if self._pool is None or len(slices) == 1:
            return list(self._session.run(outputs, feeds))
        parts = [{name: array[rows] for name, array in feeds.items()} for rows in slices]
        # ONNX Runtime releases the GIL while it runs: the lanes' runs overlap on the cores.
        others = [self._pool.submit(self._session.run, outputs, part) for part in parts[1:]]
        results = [self._session.run(outputs, parts[0])] + [other.result() for other in others]
        return [np.concatenate([result[k] for result in results]) for k in range(len(outputs))]


def row_slices(rows: int, lanes: int) -> list[slice]:
    """``rows`` cut into at most ``lanes`` contiguous slices whose sizes differ by at most one."""
    count = max(1, min(lanes, rows))
    bounds = [rows * k // count for k in range(count + 1)]
    return [slice(start, end) for start, end in itertools.pairwise(bounds)]


def cuda_available() -> bool:
    """Whether torch sees a CUDA device; on a Linux host with no NVIDIA device, False without importing torch.

    Importing torch costs a worker about 460 MB of resident memory (its CUDA build maps its
    libraries) and slows ONNX Runtime, so a CPU host that serves ONNX models must not pay it
    just to learn that it has no GPU (docs/performance.md, "Memory").
    """
    if not nvidia_device_present():
        return False
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def nvidia_device_present(
    devices: Path = Path("/dev"), environ: Mapping[str, str] = os.environ, platform: str = sys.platform
) -> bool:
    """Whether this host may have a CUDA device: False when ``CUDA_VISIBLE_DEVICES`` hides every device,
    or on Linux when ``devices`` holds no NVIDIA device node (``nvidia0``…, or WSL's ``dxg``).

    Elsewhere it cannot tell, and answers True (torch is asked).
    """
    if environ.get("CUDA_VISIBLE_DEVICES", "x").strip() in ("", "-1"):
        return False
    if not platform.startswith("linux"):
        return True
    return any(devices.glob("nvidia[0-9]*")) or (devices / "dxg").exists()


def wants_cuda(device: str) -> bool:
    """Whether ``device`` (``auto``, ``cpu``, ``cuda[:N]``) means running on a GPU."""
    return device.startswith("cuda") or (device == "auto" and cuda_available())


def choose_backend_name(requested: str, device: str, default_cpu: str | None) -> str:
    """Resolve ``auto`` from the device and the model's measured CPU default."""
    if requested != "auto":
        if requested not in CPU_BACKENDS + CUDA_BACKENDS:
            known = ", ".join(("auto", *CPU_BACKENDS, *CUDA_BACKENDS))
            raise ModelConfigError(f"unknown backend {requested!r}; choose one of {known}")
        return requested
    if wants_cuda(device):
        import torch

        return "cuda-bf16" if torch.cuda.is_bf16_supported() else "cuda-fp16"
    return default_cpu or FALLBACK_CPU_BACKEND


def build_backend(
    name: str, device: str, load_torch: Callable[[], MultiTaskClassifier], onnx_path: Callable[[bool], Path]
) -> Backend:
    """Construct the named backend; ``onnx_path(int8)`` exports on first use and caches."""
    if name.startswith("onnx-"):
        return OnnxBackend(name, onnx_path(name == "onnx-int8"))
    import torch

    model = load_torch()
    if name == "torch-fp32":
        torch.set_num_threads(cpu_threads())
        return TorchBackend(name, model)
    if name == "torch-int8":
        torch.set_num_threads(cpu_threads())
        quantized = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        return TorchBackend(name, quantized)
    cuda_device = device if device.startswith("cuda") else "cuda"
    dtypes = {"cuda-bf16": torch.bfloat16, "cuda-fp16": torch.float16, "cuda-fp32": None}
    return TorchBackend(name, model.to(cuda_device), cuda_device, dtypes[name])
