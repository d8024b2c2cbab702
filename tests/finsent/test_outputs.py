"""Counting what a downstream consumer of the output topics sees twice (``finsent.dev.outputs``)."""

from __future__ import annotations

import orjson
import pytest

from finsent.dev.outputs import alert_input_facts, duplicate_counts, score_facts


def _score(doc_id: str, symbol: str, score: float, ingested_at: str, source: str = "wire") -> tuple[bytes, bytes]:
    record = {"doc_id": doc_id, "symbol": symbol, "source": source, "score": score, "sentiment": 1 if score > 0 else -1,
              "ingested_at": ingested_at}  # fmt: skip
    return symbol.encode(), orjson.dumps(record)


def test_a_re_emitted_score_is_a_duplicate_of_its_key_and_a_changed_document_a_conflict() -> None:
    records = [
        _score("d1", "ACME", 0.5, "2026-12-06T10:00:00Z"),
        _score("d1", "ACME", 0.5, "2026-12-06T10:00:09Z"),  # the same fact, processed again
        _score("d1", "GLOBEX", 0.5, "2026-12-06T10:00:00Z"),  # another key of the same document
        _score("d2", "ACME", 0.3, "2026-12-06T10:00:00Z"),
        _score("d2", "ACME", 0.3004, "2026-12-06T10:00:09Z"),  # scored again in a batch padded otherwise
        _score("d3", "ACME", 0.01, "2026-12-06T10:00:00Z"),
        _score("d3", "ACME", -0.01, "2026-12-06T10:00:09Z"),  # ... enough to flip a borderline label
        _score("d4", "ACME", 0.2, "2026-12-06T10:00:00Z"),
        _score("d4", "ACME", 0.2, "2026-12-06T10:00:09Z", source="other"),  # not the same document
    ]
    counts = duplicate_counts(score_facts(records))
    assert counts | {"max_score_change": 0} == {"records": 9, "keys": 5, "duplicates": 4, "conflicting": 1,
                                                 "relabelled": 1, "max_score_change": 0}  # fmt: skip
    assert counts["max_score_change"] == pytest.approx(0.02)


def test_alert_inputs_are_keyed_by_message_key_and_doc_id() -> None:
    first = [{"doc_id": "d1", "score": 0.5}, {"doc_id": "d2", "score": 0.1}]
    records = [(b"symbol:ACME", orjson.dumps(first)), (b"symbol:ACME", orjson.dumps(first[:1])),
               (b"all:", orjson.dumps(first[:1]))]  # fmt: skip
    counts = duplicate_counts(alert_input_facts(records))
    assert counts == {
        "records": 4,
        "keys": 3,
        "duplicates": 1,
        "conflicting": 0,
        "relabelled": 0,
        "max_score_change": 0,
    }
