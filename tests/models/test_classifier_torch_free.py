"""A process that serves an ONNX model never imports torch: the worker's imports and its model load path.

Torch costs a worker about 550 MB of resident memory (docs/performance.md, "Memory"); the ONNX
path needs none of it once the export is cached. Each check runs in a fresh interpreter, since
this one may have imported torch already.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from models import Classifier
from models.artifact import STUDENT
from models.backends import nvidia_device_present

ROOT = Path(__file__).resolve().parents[2]
SERVE = """
import json, sys
import finsent.worker  # everything a worker imports
from models import load_classifier
classifier = load_classifier({model!r}, device={device!r}, backend={backend!r})
prediction = classifier.predict(["Acme shares plunge after weak guidance"])[0]
print(json.dumps({{"backend": classifier.backend_name, "label": prediction.sentiment_label,
                  "torch": "torch" in sys.modules, "transformers": "transformers" in sys.modules}}))
"""


def serve_in_fresh_process(device: str, backend: str, model: str = STUDENT) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CUDA_VISIBLE_DEVICES": ""}  # a CPU host, even on a GPU runner
    script = SERVE.format(model=model, device=device, backend=backend)
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.integration
@pytest.mark.parametrize(("device", "backend"), [("auto", "auto"), ("cpu", "onnx-int8")])
def test_serving_the_student_on_onnx_imports_neither_torch_nor_transformers(device: str, backend: str) -> None:
    # The export is made (with torch) once and cached beside the model; serving starts from the cache.
    Classifier.load(STUDENT, device="cpu", backend=backend)
    served = serve_in_fresh_process(device, backend)
    assert str(served["backend"]).startswith("onnx-")
    assert served["label"] in {"negative", "neutral", "positive"}
    assert served["torch"] is False
    assert served["transformers"] is False


@pytest.mark.integration
def test_a_model_without_a_cached_export_is_exported_in_a_child_process(tiny_model_dir: Path, tmp_path: Path) -> None:
    """A fresh deployment's first worker: the export needs torch, which then stays out of the worker."""
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model, ignore=shutil.ignore_patterns(".cache"))
    served = serve_in_fresh_process("cpu", "onnx-int8", str(model))
    assert served["backend"] == "onnx-int8" and served["torch"] is False
    assert len(list(model.glob(".cache/onnx-*/model.int8.onnx"))) == 1


def test_a_linux_host_without_nvidia_device_nodes_has_no_cuda(tmp_path: Path) -> None:
    assert not nvidia_device_present(tmp_path, environ={}, platform="linux")
    (tmp_path / "nvidiactl").touch()  # the control node alone is no GPU
    assert not nvidia_device_present(tmp_path, environ={}, platform="linux")
    (tmp_path / "nvidia0").touch()
    assert nvidia_device_present(tmp_path, environ={}, platform="linux")


def test_hidden_devices_mean_no_cuda_and_other_systems_ask_torch(tmp_path: Path) -> None:
    (tmp_path / "nvidia0").touch()
    assert not nvidia_device_present(tmp_path, environ={"CUDA_VISIBLE_DEVICES": ""}, platform="linux")
    assert not nvidia_device_present(tmp_path, environ={"CUDA_VISIBLE_DEVICES": "-1"}, platform="linux")
    assert nvidia_device_present(tmp_path, environ={"CUDA_VISIBLE_DEVICES": "0"}, platform="linux")
    assert nvidia_device_present(Path("/nonexistent"), environ={}, platform="win32")


def test_wsl_gpu_node_counts_as_a_device(tmp_path: Path) -> None:
    (tmp_path / "dxg").touch()
    assert nvidia_device_present(tmp_path, environ={}, platform="linux")
