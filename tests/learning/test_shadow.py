"""Shadow scoring: a sampled share of stored documents scored by another version, off the batch path."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from learning.exceptions import LearningError
from learning.registry import Registry
from learning.shadow import ShadowScorer, in_sample
from models import Classifier
from storage import open_store
from storage.learning import shadow_agreement, shadow_disagreements
from tests.learning.conftest import LABELLED, labelled_document

pytestmark = pytest.mark.integration


def test_the_sample_is_stable_and_about_the_rate() -> None:
    ids = [f"news:wire:{i}" for i in range(10_000)]
    sampled = [doc_id for doc_id in ids if in_sample(doc_id, 0.1)]
    assert 900 < len(sampled) < 1_100 and sampled == [doc_id for doc_id in ids if in_sample(doc_id, 0.1)]
    assert not any(in_sample(doc_id, 0.0) for doc_id in ids) and all(in_sample(doc_id, 1.0) for doc_id in ids)


def test_a_shadowed_version_scores_offered_documents_and_the_report_shows_it(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    documents = [labelled_document(i, headline) for i, (headline, _) in enumerate(LABELLED)]
    with open_store(f"chdb://{tmp_path / 'chdb'}") as store:
        store.init_schema()
        store.insert_documents(documents)
        registry = Registry(store, tmp_path / "registry")
        with pytest.raises(LearningError, match="no model version"):
            registry.shadow("tiny-test", 1.0, "cli")
        registry.adopt(str(tiny_model_dir))
        scorer = ShadowScorer(registry, lambda path: Classifier.load(path, backend="torch-fp32"), poll_s=0.2).start()
        try:
            scorer.offer(documents)
            assert scorer.dropped == 0 and shadow_agreement(store) == [], "off until a version is shadowed"
            registry.shadow("tiny-test", 1.0, "cli")
            deadline = time.monotonic() + 60
            while not shadow_agreement(store):
                scorer.offer(documents)
                assert time.monotonic() < deadline, "nothing was shadow-scored within 60 s"
                time.sleep(0.3)
        finally:
            scorer.stop()
        (agreement,) = shadow_agreement(store)
        assert agreement["challenger"] == "tiny-test+torch-fp32" and agreement["champion"] == "tiny-test+onnx-int8"
        assert agreement["docs"] == len(documents), "each document once per challenger, however often offered"
        assert 0 <= agreement["sentiment_agreement"] <= 1
        # The stored rows say neutral; the tiny model reads these headlines its own way.
        for row in shadow_disagreements(store, limit=5):
            assert row["champion_says"] == "neutral" and row["challenger_says"] != "neutral" and row["headline"]
        registry.shadow("", 0.0, "cli")
        scorer.refresh()
        assert scorer.score(documents) == [], "turned off"
