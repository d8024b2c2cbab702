"""Drift watch: the live class mix per hour and source against the serving model's validation mix."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from learning.drift import drift_report
from models.reference import validation_class_mix
from schemas.learning import ModelActivationRow, ModelVersionRow
from storage import open_store
from storage.learning import record_activation, register_version
from tests.learning.conftest import T0, labelled_document

pytestmark = pytest.mark.integration


def model_dir(tmp_path: Path) -> Path:
    """A model directory as far as drift is concerned: its validation confusion (predicted 2:5:3)."""
    directory = tmp_path / "model"
    directory.mkdir()
    confusion = [[20, 0, 0], [0, 50, 0], [0, 0, 30]]
    metrics = {"validation": {"sentiment": {"classes": ["negative", "neutral", "positive"], "confusion": confusion}}}
    (directory / "metrics.json").write_text(json.dumps(metrics))
    return directory


def test_a_shifted_mix_has_a_large_psi_and_a_steady_one_a_small_one(tmp_path: Path) -> None:
    reference = model_dir(tmp_path)
    assert validation_class_mix(reference) == {"negative": 20, "neutral": 50, "positive": 30}
    steady = [-1] * 2 + [0] * 5 + [1] * 3
    shifted = [-1] * 9 + [0]
    docs = []
    for hour, labels in ((0, steady * 3), (1, shifted * 3)):
        for i, sentiment in enumerate(labels):
            doc = labelled_document(hour * 100 + i, f"h{hour}-{i}")
            at = T0 + timedelta(hours=hour, minutes=i)
            docs.append(doc.model_copy(update={"sentiment": sentiment, "event_time": at}))
    with open_store(f"chdb://{tmp_path / 'chdb'}") as store:
        store.init_schema()
        store.insert_documents(docs)
        register_version(store, ModelVersionRow(version="v1", parent="", path=str(reference), created_at=T0,
                                                summary="{}", metrics="{}"))  # fmt: skip
        record_activation(store, ModelActivationRow(sequence=1, changed_at=T0, version="v1", previous="", reason="",
                                                    actor="cli"))  # fmt: skip
        report = drift_report(store, None, start=T0 - timedelta(hours=1), end=T0 + timedelta(hours=3))
    assert report["model"] == "v1" and report["reference"] == {"negative": 20, "neutral": 50, "positive": 30}
    by_hour = {row["hour"]: row for row in report["rows"]}
    calm, drifted = by_hour[T0.replace(minute=0)], by_hour[T0.replace(minute=0) + timedelta(hours=1)]
    assert calm["docs"] == drifted["docs"] == 30 and drifted["negatives"] == 27
    assert calm["psi"] < 0.1 < 0.25 < drifted["psi"]
    assert 0 <= calm["low_confidence_share"] <= 1 and calm["mean_confidence"] == pytest.approx(0.6)


def test_the_serving_models_reference_follows_the_model(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from learning.drift import serving_reference
    from models.follow import FixedModel

    with_metrics = SimpleNamespace(model_version="v1", directory=model_dir(tmp_path), predict=lambda texts: [])
    assert serving_reference(FixedModel(with_metrics))() == (20, 50, 30)  # type: ignore[arg-type]
    without = SimpleNamespace(model_version="null", predict=lambda texts: [])
    assert serving_reference(FixedModel(without))() is None  # type: ignore[arg-type]
