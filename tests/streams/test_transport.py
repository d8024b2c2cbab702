"""The worker's Kafka consumer fetches with FINSENT_KAFKA_FETCH_MAX_WAIT_MS, not Faust's fixed 1,500 ms."""

from __future__ import annotations

import asyncio

import faust

from streams.transport import FetchWaitConsumerThread, use_fetch_max_wait


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
