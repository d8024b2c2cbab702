"""Faust's aiokafka transport with a configurable fetch wait.

Faust 0.15 creates its consumer with ``fetch_max_wait_ms=1500`` and no setting to change it
(robinhood/faust#281 asked for one in 2019). A broker may hold a fetch that long when a
partition has no new data; the embedded tansu broker answers such fetches only every few
hundred milliseconds. ``FetchWaitTransport`` creates the consumer with
``FINSENT_KAFKA_FETCH_MAX_WAIT_MS`` instead; everything else is Faust's own.
"""

from __future__ import annotations

from typing import Any

import aiokafka
import faust
from faust.transport.drivers import aiokafka as faust_aiokafka


class FetchWaitConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = transport.fetch_max_wait_ms  # read when the consumer starts its fetcher
        return consumer


class FetchWaitConsumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return FetchWaitConsumerThread(self, loop=self.loop, beacon=self.beacon)


class FetchWaitTransport(faust_aiokafka.Transport):
    Consumer = FetchWaitConsumer

    def __init__(self, *args: Any, fetch_max_wait_ms: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fetch_max_wait_ms = fetch_max_wait_ms


def use_fetch_max_wait(app: faust.App, fetch_max_wait_ms: int) -> None:
    """Make ``app``'s Kafka consumer fetch with ``fetch_max_wait_ms``; call before the app starts."""
    app.transport = FetchWaitTransport(app.conf.broker_consumer, app, fetch_max_wait_ms=fetch_max_wait_ms)
