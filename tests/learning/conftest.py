"""A store with documents people have labelled (the tiny data root is ``tests/conftest.py``'s)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from schemas import DocumentRow
from schemas.learning import LabelRow
from storage import Store, open_store
from storage.learning import insert_labels

# Factual good news, which a model trained on tweets reads as neutral: people correct it.
LABELLED = [(f"{company} {noun} rose 24% to EUR 1.5bn", "positive")
            for company in ("Acme", "Globex", "Initech", "Umbrella", "Hooli")
            for noun in ("bookings", "shipments", "orders", "sales")]  # fmt: skip
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def labelled_document(index: int, headline: str) -> DocumentRow:
    return DocumentRow(
        doc_id=f"doc-{index:03d}", kind="news", source="wire", event_time=T0 + timedelta(minutes=index),
        ingested_at=T0 + timedelta(minutes=index), headline=headline, body="", url="", author_hash="",
        symbols=[], content_hash=f"h{index}", topic="Company | Product News", topic_confidence=0.5, sentiment=0,
        p_negative=0.2, p_neutral=0.6, p_positive=0.2, score=0.0, model_version="tiny-test+onnx-int8",
    )  # fmt: skip


@pytest.fixture
def labelled_store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"chdb://{tmp_path / 'chdb'}") as store:
        store.init_schema()
        documents = [labelled_document(i, headline) for i, (headline, _) in enumerate(LABELLED)]
        store.insert_documents(documents)
        insert_labels(store, [
            LabelRow(doc_id=doc.doc_id, task="sentiment", label=label, labeller="k1",
                     labelled_at=T0 + timedelta(hours=1, minutes=i), model_version=doc.model_version)
            for i, (doc, (_, label)) in enumerate(zip(documents, LABELLED, strict=True))
        ])  # fmt: skip
        yield store
