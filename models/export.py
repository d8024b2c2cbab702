"""ONNX export and int8 quantization, done once per model and cached beside it."""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from models.artifact import ModelSpec, load_torch_model
from models.exceptions import ModelConfigError

log = logging.getLogger(__name__)
OPSET = 17


def model_fingerprint(directory: Path, spec: ModelSpec) -> str:
    """Hash of what defines the network (weights, base model, method) and of the runtime versions.

    Editing other parts of the spec (the chosen default backend, say) keeps the cached export.
    """
    from importlib.metadata import version

    digest = hashlib.sha256()
    runtime = f"onnxruntime {version('onnxruntime')} torch {version('torch')} opset {OPSET} per-channel-int8"
    # A model with an entity head exports another graph (mask inputs, entity output): never the cached plain one.
    graph = "entity-graph-1" if spec.entity_head else ""
    for part in (spec.base_model, spec.finetune, str(spec.topics), str(spec.sentiments), runtime, graph):
        digest.update(part.encode())
    for path in sorted(directory.rglob("*.safetensors")):
        if ".cache" not in path.relative_to(directory).parts:
            digest.update(path.relative_to(directory).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cache_dir(directory: Path) -> Path:
    """``DIR/.cache`` when writable, else ``$FINSENT_CACHE_DIR`` or ``~/.cache/finsent``."""
    local = directory / ".cache"
    try:
        local.mkdir(exist_ok=True)
        if os.access(local, os.W_OK):
            return local
    except OSError:
        pass
    fallback = Path(os.environ.get("FINSENT_CACHE_DIR", Path.home() / ".cache" / "finsent"))
    fallback.mkdir(parents=True, exist_ok=True)
    return fallback


def onnx_model_path(directory: Path, spec: ModelSpec, int8: bool) -> Path:
    """The cached ONNX file for this model, exporting (and quantizing) it first if missing.

    The export needs torch. A process that has not imported it (a worker serving ONNX) exports in a
    child process instead: importing torch would cost it about 500 MB for the rest of its life
    (docs/performance.md, "Memory"), to be used once.
    """
    root = cache_dir(directory) / f"onnx-{model_fingerprint(directory, spec)}"
    target = _cached_file(root, int8)
    if target.is_file():
        return target
    if "torch" not in sys.modules:
        _export_in_child(directory, int8)
        if target.is_file():
            return target
        raise ModelConfigError(f"exporting {spec.model_version} to ONNX wrote no {target}")
    return _export_here(directory, spec, root, int8)


def _export_in_child(directory: Path, int8: bool) -> None:
    """``python -m models.export DIRECTORY [--int8]``, waited for; its error as a ``ModelConfigError``."""
    log.info("exporting %s to ONNX in a child process (once; torch stays out of this one)", directory)
    command = [sys.executable, "-m", "models.export", str(directory), *(["--int8"] if int8 else [])]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        lines = done.stderr.strip().splitlines()
        raise ModelConfigError(f"exporting {directory} to ONNX failed: {lines[-1] if lines else done.returncode}")


def _cached_file(root: Path, int8: bool) -> Path:
    return root / ("model.int8.onnx" if int8 else "model.fp32.onnx")


def _export_here(directory: Path, spec: ModelSpec, root: Path, int8: bool) -> Path:
    fp32, target = _cached_file(root, False), _cached_file(root, int8)
    root.mkdir(parents=True, exist_ok=True)
    if not fp32.is_file():
        log.info("exporting %s to ONNX (once; cached in %s)", spec.model_version, root)
        _atomic(fp32, lambda tmp: export_onnx(directory, spec, tmp))
    if int8:
        log.info("quantizing the ONNX model to int8")
        _atomic(target, lambda tmp: quantize_int8(fp32, tmp))
    return target


def _atomic(target: Path, write) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, suffix=".tmp.onnx")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


def export_onnx(directory: Path, spec: ModelSpec, out: Path) -> None:
    """The network as an ONNX graph; with an entity head, one graph with the mask inputs and entity logits too."""
    import torch

    model = load_torch_model(directory, spec)
    ids = torch.ones((2, 16), dtype=torch.long)
    mask = torch.ones((2, 16), dtype=torch.long)
    dynamic = {0: "batch", 1: "sequence"}
    inputs: tuple[torch.Tensor, ...] = (ids, mask)
    names = {"input_ids": dynamic, "attention_mask": dynamic}
    outputs = {"topic_logits": {0: "batch"}, "sentiment_logits": {0: "batch"}}
    if spec.entity_head:
        masks = torch.zeros((2, 3, 16), dtype=torch.float32)
        masks[:, :, 1:3] = 1.0
        inputs = (ids, mask, masks, masks)
        slotted = {0: "batch", 1: "slots", 2: "sequence"}
        names |= {"mention_mask": slotted, "context_mask": slotted}
        outputs |= {"entity_logits": {0: "batch", 1: "slots"}}
        model.forward = model.forward_with_entities  # type: ignore[method-assign,assignment]  # what the exporter traces
    torch.onnx.export(
        model,
        inputs,
        str(out),
        input_names=list(names),
        output_names=list(outputs),
        dynamic_axes=names | outputs,
        opset_version=OPSET,
        dynamo=False,
    )


def quantize_int8(fp32: Path, out: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Per-channel scales keep validation macro-F1 within 0.5 point of fp32 on both heads; per-tensor
    # scales cost 0.6 point of topic macro-F1 on the shipped model.
    quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True)


def main(argv: list[str] | None = None) -> None:
    """The child's side of ``_export_in_child``: export one model directory (and quantize it)."""
    parser = argparse.ArgumentParser(description="Export a finsent model directory to its ONNX cache.")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--int8", action="store_true")
    args = parser.parse_args(argv)
    import torch  # noqa: F401  # this process is the one that may load it

    spec = ModelSpec.from_dir(args.directory)
    print(onnx_model_path(args.directory, spec, args.int8))


if __name__ == "__main__":
    main()
