"""The shipped teacher: adapter and heads on the mpnet base from PyPI, chosen by name or on CUDA."""

from __future__ import annotations

import pytest

from models import Classifier
from models.artifact import ModelSpec
from tests.models.test_shipped_model import CASES


def test_the_device_picks_the_default_model() -> None:
    from models.artifact import ARTIFACTS_DIR, resolve_model_dir

    assert resolve_model_dir(None, on_cuda=False) == ARTIFACTS_DIR / "finsent-minilm"
    assert resolve_model_dir(None, on_cuda=True) == ARTIFACTS_DIR / "finsent-mpnet"
    assert resolve_model_dir("finsent-mpnet") == ARTIFACTS_DIR / "finsent-mpnet"


def test_the_teacher_ships_adapter_and_heads_only() -> None:
    from models.artifact import ARTIFACTS_DIR

    teacher = ARTIFACTS_DIR / "finsent-mpnet"
    spec = ModelSpec.from_dir(teacher)
    assert spec.base_model == "mpnet-base" and spec.finetune == "lora"
    size = sum(p.stat().st_size for p in teacher.rglob("*") if p.is_file() and ".cache" not in p.parts)
    assert size < 10_000_000
    assert set(spec.temperatures) == {"sentiment", "topic"}


@pytest.mark.integration
def test_the_teacher_loads_by_name_on_its_pypi_base() -> None:
    classifier = Classifier.load("finsent-mpnet", backend="torch-fp32")
    predictions = classifier.predict([text for text, _ in CASES])
    assert [p.sentiment_label for p in predictions] == [label for _, label in CASES]
    assert predictions[0].model_version.startswith("finsent-mpnet")
