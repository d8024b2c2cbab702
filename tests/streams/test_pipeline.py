"""BatchProcessor: parse → dedupe → symbols → classify → rows, with no broker or store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from models import Classifier
from schemas import DocumentKind
from streams.pipeline import BatchProcessor, IncomingMessage

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def news(doc_id: str, headline: str, **extra: object) -> IncomingMessage:
    payload = {"id": doc_id, "source": "wire", "published_at": "2026-11-23T11:59:00Z", "headline": headline, **extra}
    return IncomingMessage(orjson.dumps(payload), "finsent.news", 0, int(doc_id.strip("n") or 0), DocumentKind.NEWS)


def social(doc_id: str, text: str, author: str = "@trader") -> IncomingMessage:
    payload = {"id": doc_id, "platform": "x", "author": author, "created_at": "2026-11-23T11:58:00Z", "text": text}
    return IncomingMessage(orjson.dumps(payload), "finsent.social", 1, 7, DocumentKind.SOCIAL)


class FakeStore:
    def __init__(self, stored: dict[str, str] | None = None):
        self.stored = stored or {}
        self.lookups: list[list[str]] = []

    def existing(self, doc_ids: Sequence[str]) -> dict[str, str]:
        self.lookups.append(list(doc_ids))
        return {i: self.stored[i] for i in doc_ids if i in self.stored}


@pytest.fixture(scope="module")
def classifier(tiny_model_dir: Path) -> Classifier:
    return Classifier.load(tiny_model_dir, backend="torch-fp32")


def processor(classifier: Classifier, store: FakeStore) -> BatchProcessor:
    return BatchProcessor(classifier, store.existing, author_key=b"k", clock=lambda: NOW)


def test_one_score_row_per_symbol_and_one_document_row(classifier: Classifier) -> None:
    result = processor(classifier, FakeStore()).process(
        [
            news("n1", "Apple and $MSFT shares plunge", tickers=["NVDA"]),
            social("s1", "Fed holds rates steady"),
        ]
    )
    assert [d.doc_id for d in result.documents] == ["news:wire:n1", "social:x:s1"]
    assert result.documents[0].symbols == ["AAPL", "MSFT", "NVDA"]
    symbols = sorted((s.doc_id, s.symbol) for s in result.scores)
    assert symbols == [
        ("news:wire:n1", "AAPL"),
        ("news:wire:n1", "MSFT"),
        ("news:wire:n1", "NVDA"),
        ("social:x:s1", ""),
    ]
    assert not result.dead_letters
    assert all(s.ingested_at == NOW and s.model_version == "tiny-test+torch-fp32" for s in result.scores)


def test_invalid_messages_are_dead_lettered_with_reason_and_origin(classifier: Classifier) -> None:
    bad = IncomingMessage(b"{not json", "finsent.news", 3, 42, DocumentKind.NEWS)
    empty = news("n2", "   ")
    result = processor(classifier, FakeStore()).process([bad, empty, news("n3", "Acme beats estimates")])
    assert len(result.documents) == 1
    reasons = [d.error for d in result.dead_letters]
    assert reasons[0].startswith("invalid JSON")
    assert "headline" in reasons[1]
    first = result.dead_letters[0]
    assert (first.topic, first.partition, first.offset, first.raw) == ("finsent.news", 3, 42, b"{not json")


def test_duplicates_in_batch_and_in_store_are_skipped(classifier: Classifier) -> None:
    probe = processor(classifier, FakeStore()).process([news("n4", "Acme beats estimates")])
    stored_hash = probe.documents[0].content_hash
    store = FakeStore({"news:wire:n4": stored_hash})
    result = processor(classifier, store).process(
        [
            news("n4", "Acme beats estimates"),
            news("n5", "Globex misses"),
            news("n5", "Globex misses"),
        ]
    )
    assert [d.doc_id for d in result.documents] == ["news:wire:n5"]
    assert result.duplicates == 2
    assert not result.dead_letters
    # Only the copy already in the store may be a replay after a crash inside its insert.
    assert result.replayed == ["news:wire:n4"]
    assert {d.insert_token for d in result.documents} == {result.insert_token}


def test_same_id_with_different_content_is_dead_lettered(classifier: Classifier) -> None:
    result = processor(classifier, FakeStore({"news:wire:n6": "other-hash"})).process(
        [
            news("n6", "Acme beats estimates"),
            news("n7", "First version"),
            news("n7", "Second version"),
        ]
    )
    assert [d.doc_id for d in result.documents] == ["news:wire:n7"]
    assert len(result.dead_letters) == 2
    assert all("conflicting duplicate" in d.error for d in result.dead_letters)


def test_author_handle_is_stored_hashed(classifier: Classifier) -> None:
    result = processor(classifier, FakeStore()).process([social("s2", "Buying more $TSLA", author="@alice")])
    author_hash = result.documents[0].author_hash
    assert author_hash and "alice" not in author_hash
    assert len(author_hash) == 32


def test_empty_batch_touches_nothing(classifier: Classifier) -> None:
    store = FakeStore()
    result = processor(classifier, store).process([])
    assert (result.documents, result.scores, result.dead_letters, store.lookups) == ([], [], [], [])


class PoisonedClassifier:
    """Fails on any batch holding the word POISON, like a model that chokes on one input."""

    def __init__(self, inner: Classifier):
        self.inner = inner

    def predict(self, texts: list[str]):
        if any("POISON" in t for t in texts):
            raise RuntimeError("model failure")
        return self.inner.predict(texts)


def test_a_document_the_model_cannot_score_is_dead_lettered_alone(classifier: Classifier) -> None:
    processor = BatchProcessor(PoisonedClassifier(classifier), FakeStore().existing, clock=lambda: NOW)  # type: ignore[arg-type]
    result = processor.process([news("n8", "Acme beats"), news("n9", "POISON pill"), news("n10", "Globex misses")])
    assert [d.doc_id for d in result.documents] == ["news:wire:n8", "news:wire:n10"]
    (dead,) = result.dead_letters
    assert dead.error == "classification failed: RuntimeError: model failure"
    assert b"POISON" in dead.raw


def test_documents_dated_in_the_future_are_dead_lettered(classifier: Classifier) -> None:
    soon = news("n1", "Acme beats estimates", published_at="2026-11-23T12:04:00Z")  # 4 min ahead: clock skew
    far = news("n2", "Acme from the future", published_at="2099-01-01T00:00:00Z")
    result = processor(classifier, FakeStore()).process([soon, far])
    assert [d.doc_id for d in result.documents] == ["news:wire:n1"]
    (letter,) = result.dead_letters
    assert letter.offset == 2 and "event time in the future: 2099-01-01T00:00:00+00:00" in letter.error
    strict = BatchProcessor(classifier, FakeStore().existing, clock=lambda: NOW, max_future_skew_s=60)
    assert len(strict.process([soon]).dead_letters) == 1
