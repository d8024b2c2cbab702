"""``finsent.alert-inputs`` messages: one array per key and batch, in order, parsed back whole."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from schemas import ScoreRecord
from schemas.alerts import ALERT_INPUTS, AlertInput
from streams.alert_agent import parse_alert_inputs
from streams.handler import ALERT_INPUTS_PER_MESSAGE, alert_input_messages

T0 = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def score(n: int, symbol: str, doc_first: bool = True, topic: str = "Earnings") -> ScoreRecord:
    fields: dict[str, Any] = {
        "doc_id": f"d{n}", "kind": "news", "source": "wire", "event_time": T0 + timedelta(seconds=n),
        "topic": topic, "topic_confidence": 0.9, "sentiment": -1, "p_negative": 0.8, "p_neutral": 0.1,
        "p_positive": 0.1, "score": -0.7, "model_version": "m", "ingested_at": T0, "headline": f"headline {n}",
    }  # fmt: skip
    return ScoreRecord(**fields, symbol=symbol, doc_first=doc_first)


def event(value: bytes, offset: int = 0) -> Any:
    message = SimpleNamespace(topic="finsent.alert-inputs", partition=0, offset=offset)
    return SimpleNamespace(value=value, message=message)


def test_one_message_per_key_holding_its_inputs_in_order() -> None:
    scores = [score(0, "NVDA"), score(0, "AMD", doc_first=False), score(1, "NVDA"), score(2, "", topic="Macro")]
    messages = alert_input_messages(scores)
    keys = [key for key, _ in messages]
    assert keys == [b"symbol:NVDA", b"topic:Earnings", b"all:", b"symbol:AMD", b"topic:Macro"]
    by_key = {key: ALERT_INPUTS.validate_json(value) for key, value in messages}
    assert [i.doc_id for i in by_key[b"symbol:NVDA"]] == ["d0", "d1"]
    assert [i.doc_id for i in by_key[b"all:"]] == ["d0", "d1", "d2"]
    assert all(i.partition_key.encode() == key for key, inputs in by_key.items() for i in inputs)

    # Nothing lost or added, and every field carried: the same inputs as one per score record.
    def ordered(inputs: Iterable[AlertInput]) -> list[AlertInput]:
        return sorted(inputs, key=lambda i: (i.partition_key, i.doc_id))

    expected = [AlertInput.model_validate(values) for s in scores for _, values in AlertInput.fields_of(s)]
    assert ordered(i for inputs in by_key.values() for i in inputs) == ordered(expected)
    d0 = by_key[b"symbol:NVDA"][0]
    assert (d0.event_time, d0.score, d0.sentiment, d0.headline) == (T0, -0.7, -1, "headline 0")


def test_a_big_batch_splits_each_key_into_bounded_messages() -> None:
    scores = [score(n, "NVDA") for n in range(2 * ALERT_INPUTS_PER_MESSAGE + 1)]
    messages = [(key, ALERT_INPUTS.validate_json(value)) for key, value in alert_input_messages(scores)]
    market = [inputs for key, inputs in messages if key == b"all:"]
    assert [len(inputs) for inputs in market] == [ALERT_INPUTS_PER_MESSAGE, ALERT_INPUTS_PER_MESSAGE, 1]
    assert [i.doc_id for inputs in market for i in inputs] == [s.doc_id for s in scores]
    assert alert_input_messages([]) == []


def test_parsing_keeps_order_and_skips_a_broken_message(caplog: pytest.LogCaptureFixture) -> None:
    [(_, first), *_] = alert_input_messages([score(0, "NVDA"), score(1, "NVDA")])
    events = [event(first, 0), event(b'[{"scope": "nowhere"}]', 1), event(b"not json", 2), event(first, 3)]
    with caplog.at_level(logging.ERROR):
        parsed = parse_alert_inputs(events)
    assert [i.doc_id for i in parsed] == ["d0", "d1", "d0", "d1"]
    assert [r.getMessage().split(" at ")[1].split(":")[0] for r in caplog.records] == [
        "finsent.alert-inputs[0]@1",
        "finsent.alert-inputs[0]@2",
    ]
