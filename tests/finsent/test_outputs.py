"""Counting what a downstream consumer of the output topics sees twice (``finsent.dev.outputs``)."""

from __future__ import annotations

import orjson

from finsent.dev.outputs import alert_input_facts, duplicate_counts, score_facts


def _score(doc_id: str, symbol: str, score: float, ingested_at: str) -> tuple[bytes, bytes]:
    record = {"doc_id": doc_id, "symbol": symbol, "score": score, "ingested_at": ingested_at}
    return symbol.encode(), orjson.dumps(record)


def test_a_re_emitted_score_is_a_duplicate_of_its_key_and_a_changed_one_a_conflict() -> None:
    records = [
        _score("d1", "ACME", 0.5, "2026-12-06T10:00:00Z"),
        _score("d1", "ACME", 0.5, "2026-12-06T10:00:09Z"),  # the same fact, processed again
        _score("d1", "GLOBEX", 0.5, "2026-12-06T10:00:00Z"),  # another key of the same document
        _score("d2", "ACME", 0.1, "2026-12-06T10:00:00Z"),
        _score("d2", "ACME", 0.9, "2026-12-06T10:00:09Z"),  # not the same fact
    ]
    assert duplicate_counts(score_facts(records)) == {"records": 5, "keys": 3, "duplicates": 2, "conflicting": 1}


def test_alert_inputs_are_keyed_by_message_key_and_doc_id() -> None:
    first = [{"doc_id": "d1", "score": 0.5}, {"doc_id": "d2", "score": 0.1}]
    records = [(b"symbol:ACME", orjson.dumps(first)), (b"symbol:ACME", orjson.dumps(first[:1])),
               (b"all:", orjson.dumps(first[:1]))]  # fmt: skip
    assert duplicate_counts(alert_input_facts(records)) == {"records": 4, "keys": 3, "duplicates": 1, "conflicting": 0}
