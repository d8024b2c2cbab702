"""The model committed under models/artifacts loads offline by default and reads obvious cases right."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from models import Classifier
from models.artifact import SHIPPED_MODEL_DIR, ModelSpec

CASES = [
    ("Nvidia shares plunge 12% after the company slashes its revenue forecast", "negative"),
    ("Apple beats earnings estimates and raises its dividend; stock jumps to a record high", "positive"),
    ("Microsoft to hold its annual shareholder meeting on December 5", "neutral"),
]


@pytest.fixture(scope="module")
def shipped_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy, so exporting to ONNX in the test does not write into the source tree."""
    target = tmp_path_factory.mktemp("shipped") / "model"
    shutil.copytree(SHIPPED_MODEL_DIR, target, ignore=shutil.ignore_patterns(".cache"))
    return target


def test_shipped_model_is_small_and_records_its_default_backend() -> None:
    spec = ModelSpec.from_dir(SHIPPED_MODEL_DIR)
    assert spec.default_cpu_backend in {"onnx-int8", "onnx-fp32", "torch-int8", "torch-fp32"}
    size = sum(p.stat().st_size for p in SHIPPED_MODEL_DIR.rglob("*") if p.is_file() and ".cache" not in p.parts)
    assert size < 10_000_000


@pytest.mark.integration
def test_default_load_classifies_obvious_headlines(shipped_copy: Path) -> None:
    classifier = Classifier.load(shipped_copy)
    assert classifier.backend_name == ModelSpec.from_dir(shipped_copy).default_cpu_backend
    predictions = classifier.predict([text for text, _ in CASES])
    assert [p.sentiment_label for p in predictions] == [label for _, label in CASES]
    assert predictions[0].score < -0.5 < 0.5 < predictions[1].score


@pytest.mark.integration
def test_quantized_default_agrees_with_fp32(shipped_copy: Path) -> None:
    fp32 = Classifier.load(shipped_copy, backend="torch-fp32").predict([t for t, _ in CASES])
    default = Classifier.load(shipped_copy).predict([t for t, _ in CASES])
    for reference, candidate in zip(fp32, default, strict=True):
        assert candidate.sentiment_label == reference.sentiment_label
        assert candidate.topic == reference.topic
        assert candidate.score == pytest.approx(reference.score, abs=0.1)
