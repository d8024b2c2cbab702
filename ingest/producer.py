"""Send outgoing messages to Kafka with kafka-python, optionally rate-limited, with a progress bar."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from ingest.messages import OutgoingMessage


@dataclass
class ProduceStats:
    """What was sent, split by validity as the sender knows it."""

    produced: int = 0
    valid: int = 0
    invalid: int = 0
    seconds: float = 0.0
    by_kind: dict[str, int] = field(default_factory=dict)

    def count(self, message: OutgoingMessage) -> None:
        self.produced += 1
        self.valid += message.valid
        self.invalid += not message.valid
        self.by_kind[message.kind.value] = self.by_kind.get(message.kind.value, 0) + 1


class Pacer:
    """Sleeps just enough to hold ``rate`` messages per second (None: as fast as possible)."""

    def __init__(self, rate: float | None):
        self.interval = 1.0 / rate if rate else 0.0
        self.next_at = time.monotonic()

    def wait(self) -> None:
        if not self.interval:
            return
        self.next_at += self.interval
        delay = self.next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def produce(
    messages: Iterable[OutgoingMessage],
    client_config: Mapping[str, Any],
    topics: Mapping[str, str],
    rate: float | None = None,
    total: int | None = None,
    progress: bool = True,
    on_sent: Any = None,
) -> ProduceStats:
    """Send every message to its kind's topic (``topics``: "news" and "social" to names); flushes before returning."""
    from kafka import KafkaProducer

    producer = KafkaProducer(acks="all", linger_ms=5, **client_config)
    stats = ProduceStats()
    pacer = Pacer(rate)
    started = time.monotonic()
    try:
        for message in tqdm(messages, total=total, unit="msg", desc="producing", disable=not progress, mininterval=1.0):
            pacer.wait()
            producer.send(topics[message.kind], key=message.key, value=message.value)
            stats.count(message)
            if on_sent is not None:
                on_sent(message)
        producer.flush()
    finally:
        producer.close()
    stats.seconds = round(time.monotonic() - started, 3)
    return stats
