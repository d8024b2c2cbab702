"""What a downstream consumer of ``finsent.scores`` and ``finsent.alert-inputs`` sees after crashes.

Both topics are at-least-once: a worker killed after it emitted a batch's records and before it
stored the batch's documents emits them again when the batch is redone. A consumer makes them
exactly-once by keeping the last record per idempotency key:

- ``finsent.scores``: ``(doc_id, symbol)``, the key of the store's ``scores`` table;
- ``finsent.alert-inputs``: ``(message key, doc_id)`` per element of a message's array.

``count_output_duplicates`` reads both topics to their ends and counts, per topic, the records
beyond one per key and the keys whose copies describe another document (``conflicting``: must
be 0). A copy may differ in ``ingested_at`` and, slightly, in the model's output: the batch it
was scored in again is another batch, and the int8 model quantizes activations per batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

VOLATILE_FIELDS = frozenset({"ingested_at"})
"""Fields a re-emitted record may change: when it was (re)processed, not what it says."""
MODEL_FIELDS = frozenset(
    {
        "sentiment",
        "topic",
        "topic_confidence",
        "p_negative",
        "p_neutral",
        "p_positive",
        "score",
        "symbol_sentiment",
        "symbol_score",
    }
)
"""What the model said: a document scored again in another batch may move a little (the int8
model quantizes activations per batch), rarely enough to change a label."""


def read_topic(client_config: dict[str, Any], topic: str, idle_s: float = 3.0) -> list[tuple[bytes | None, bytes]]:
    """Every ``(key, value)`` on ``topic`` from the beginning, until ``idle_s`` passes without a record.

    Read to idleness rather than to the end offsets: the embedded broker (tansu) understates
    them. Call it once nothing writes to the topic any more.
    """
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**client_config, enable_auto_commit=False, consumer_timeout_ms=int(idle_s * 1000))
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        return [(record.key, record.value) for record in consumer]
    finally:
        consumer.close()


def score_facts(records: Iterable[tuple[bytes | None, bytes]]) -> Iterable[tuple[tuple[str, ...], dict[str, Any]]]:
    for _, value in records:
        score = orjson.loads(value)
        yield (score["doc_id"], score["symbol"]), score


def alert_input_facts(
    records: Iterable[tuple[bytes | None, bytes]],
) -> Iterable[tuple[tuple[str, ...], dict[str, Any]]]:
    for key, value in records:
        for item in orjson.loads(value):
            yield ((key or b"").decode(), item["doc_id"]), item


def duplicate_counts(facts: Iterable[tuple[tuple[str, ...], dict[str, Any]]]) -> dict[str, Any]:
    """Records, distinct keys, records beyond one per key, keys whose copies describe another
    document (``conflicting``: any field but the model's output and ``ingested_at`` differs),
    copies whose labels changed, and the largest change of a model probability or score."""
    seen: dict[tuple[str, ...], dict[str, Any]] = {}
    conflicted: set[tuple[str, ...]] = set()
    records, relabelled, largest = 0, 0, 0.0
    for key, fact in facts:
        records += 1
        first = seen.setdefault(key, fact)
        if first is fact:
            continue
        if _identity(first) != _identity(fact):
            conflicted.add(key)
        outputs = [name for name in MODEL_FIELDS if name in fact]
        relabelled += any(first.get(name) != fact[name] for name in outputs if not isinstance(fact[name], float))
        changes = [abs(first[name] - fact[name]) for name in outputs if isinstance(fact[name], float) and name in first]
        largest = max([largest, *changes])
    return {
        "records": records,
        "keys": len(seen),
        "duplicates": records - len(seen),
        "conflicting": len(conflicted),
        "relabelled": relabelled,
        "max_score_change": round(largest, 6),
    }


def _identity(fact: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fact.items() if name not in VOLATILE_FIELDS | MODEL_FIELDS}


def count_output_duplicates(
    client_config: dict[str, Any], scores_topic: str, alert_inputs_topic: str
) -> dict[str, Any]:
    """Duplicate counts on the scores and alert-inputs topics, and the doc ids ``finsent.scores`` carries."""
    scores = read_topic(client_config, scores_topic)
    return {
        "scores": duplicate_counts(score_facts(scores)),
        "alert_inputs": duplicate_counts(alert_input_facts(read_topic(client_config, alert_inputs_topic))),
        "score_doc_ids": {orjson.loads(value)["doc_id"] for _, value in scores},
    }
