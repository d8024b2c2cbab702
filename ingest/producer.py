"""Send outgoing messages to Kafka with kafka-python, optionally rate-limited, with a progress bar."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from config.errors import FinsentError
from ingest.messages import MessageCounts, OutgoingMessage


class SendFailed(FinsentError):
    """Some messages could not be sent (the others were); exit status 6, as for the stream."""

    exit_code = 6


MAX_NAMED_FAILURES = 100
"""Failed sends named one by one in the stats; past this they are only counted."""


@dataclass(frozen=True)
class SendFailure:
    """A message the broker (or the client's own limits) refused: where it came from and why."""

    position: int | None
    reason: str


@dataclass
class ProduceStats(MessageCounts):
    """What was sent, split by validity as the sender knows it, and what could not be sent."""

    failed: int = 0
    seconds: float = 0.0
    failures: list[SendFailure] = field(default_factory=list)
    """The first ``MAX_NAMED_FAILURES`` failed sends."""

    def fail(self, message: OutgoingMessage, error: BaseException) -> None:
        """Count ``message`` as not sent (it was counted as produced when it was handed over)."""
        self.failed += 1
        if len(self.failures) < MAX_NAMED_FAILURES:
            self.failures.append(SendFailure(message.position, _one_line(error)))

    def summary(self) -> dict[str, Any]:
        """JSON-ready stats: ``produced`` counts the messages handed over, ``failed`` those refused."""
        data = {key: value for key, value in self.__dict__.items() if key != "failures"}
        data["failures"] = [failure.__dict__ for failure in self.failures]
        return data


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return f"{type(error).__name__}: {text}"[:500]


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
            stats.count(message)
            if _send(producer, topics[message.kind], message, stats) and on_sent is not None:
                on_sent(message)
        producer.flush()
    finally:
        producer.close()
    stats.seconds = round(time.monotonic() - started, 3)
    return stats


def _send(producer: Any, topic: str, message: OutgoingMessage, stats: ProduceStats) -> bool:
    """Hand ``message`` to the producer; a refusal (now, or later from the broker) is counted, not raised."""
    from kafka.errors import KafkaError

    try:
        future = producer.send(topic, key=message.key, value=message.value)
    except KafkaError as exc:  # the client's own checks: a message over max_request_size
        stats.fail(message, exc)
        return False
    future.add_errback(lambda exc: stats.fail(message, exc))
    return True
