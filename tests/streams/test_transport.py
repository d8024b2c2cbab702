"""The worker's Kafka consumer fetches with FINSENT_KAFKA_FETCH_MAX_WAIT_MS, not Faust's fixed 1,500 ms, and
seeks a partition without a committed offset to its start after a rebalance."""

from __future__ import annotations

import asyncio
import uuid

import aiokafka
import faust
import pytest
from aiokafka import TopicPartition
from kafka import KafkaProducer

from config.kafka import kafka_client_config
from finsent.dev.apache_kafka import ApacheKafkaBroker
from streams.transport import FetchWaitConsumerThread, seek_to_committed_or_reset, use_fetch_max_wait
from tests.kafka.broker import create_own_topics


def created_consumer_wait(app: faust.App) -> int:
    async def create() -> int:
        thread = app.consumer._thread  # type: ignore[attr-defined]
        consumer = thread._create_worker_consumer(app.transport)
        try:
            return int(consumer._fetch_max_wait_ms)
        finally:
            await consumer.stop()

    return asyncio.run(create())


def test_the_consumer_is_created_with_the_configured_fetch_wait() -> None:
    app = faust.App("fetch-wait-test", broker="kafka://127.0.0.1:9", web_enabled=False)
    use_fetch_max_wait(app, 123)
    assert isinstance(app.consumer._thread, FetchWaitConsumerThread)  # type: ignore[attr-defined]
    assert created_consumer_wait(app) == 123


def test_faust_alone_would_wait_1500_ms() -> None:
    # If Faust ever makes this configurable or changes it, streams.transport can go.
    app = faust.App("fetch-wait-default", broker="kafka://127.0.0.1:9", web_enabled=False)
    assert created_consumer_wait(app) == 1500


class RecordingConsumer:
    """Answers ``seek_to_committed`` like aiokafka and records which partitions went to their start."""

    def __init__(self, committed: dict[str, int | None]):
        self.committed = committed
        self.to_start: list[str] = []

    async def seek_to_committed(self) -> dict[str, int | None]:
        return dict(self.committed)

    async def seek_to_beginning(self, *partitions: str) -> bool:
        self.to_start.extend(partitions)
        return True


def test_a_partition_without_a_committed_offset_goes_back_to_its_start() -> None:
    # aiokafka leaves such a partition at its fetch position, past the records Faust dropped
    # during a rebalance: they were never processed and the next commit skipped them.
    consumer = RecordingConsumer({"news/0": 17, "news/1": None, "social/0": 0})
    committed = asyncio.run(seek_to_committed_or_reset(consumer, "earliest"))  # type: ignore[arg-type]
    assert consumer.to_start == ["news/1", "social/0"]
    assert committed == {"news/0": 17, "news/1": None, "social/0": 0}


def test_only_earliest_sends_uncommitted_partitions_to_their_start() -> None:
    consumer = RecordingConsumer({"news/1": None})
    asyncio.run(seek_to_committed_or_reset(consumer, "latest"))  # type: ignore[arg-type]
    assert consumer.to_start == []


async def positions_after_a_fetch(bootstrap: str, topic: str, messages: int) -> tuple[int, int, int]:
    """A group consumer's position in partition 0 of ``topic`` after fetching ``messages`` records,
    after aiokafka's ``seek_to_committed`` and after ``seek_to_committed_or_reset`` (nothing committed)."""
    consumer = aiokafka.AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"seek-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        fetched = 0
        for _ in range(60):  # bounded: the group join and the first fetch take a few seconds
            batches = await consumer.getmany(timeout_ms=1000)
            fetched += sum(len(records) for records in batches.values())
            if fetched >= messages:
                break
        partition = TopicPartition(topic, 0)
        after_fetch = await consumer.position(partition)
        await consumer.seek_to_committed()
        after_aiokafka_seek = await consumer.position(partition)
        await seek_to_committed_or_reset(consumer, "earliest")
        return after_fetch, after_aiokafka_seek, await consumer.position(partition)
    finally:
        await consumer.stop()


@pytest.mark.integration
def test_records_fetched_but_not_processed_are_read_again_from_the_start(apache_kafka: ApacheKafkaBroker) -> None:
    # What a worker that takes over a partition nobody committed goes through when Faust drops a
    # fetch that came back mid-rebalance: aiokafka's seek leaves it past those records.
    settings, _ = create_own_topics(apache_kafka.bootstrap, partitions=1)
    producer = KafkaProducer(**kafka_client_config(settings.kafka, apache_kafka.bootstrap))
    for n in range(5):
        producer.send(settings.kafka.topics.news, value=f"message {n}".encode())
    producer.flush()
    producer.close()
    positions = asyncio.run(positions_after_a_fetch(apache_kafka.bootstrap, settings.kafka.topics.news, 5))
    assert positions == (5, 5, 0)
