"""Faust's aiokafka transport with a configurable fetch wait and a seek that loses nothing.

Faust 0.15 creates its consumer with ``fetch_max_wait_ms=1500`` and no setting to change it
(robinhood/faust#281 asked for one in 2019). A broker may hold a fetch that long when a
partition has no new data; the embedded tansu broker answers such fetches only every few
hundred milliseconds. ``FetchWaitTransport`` creates the consumer with
``FINSENT_KAFKA_FETCH_MAX_WAIT_MS`` instead.

After a rebalance Faust seeks every assigned partition back to its committed offset, also
after it dropped the records of a fetch that came back mid-rebalance. aiokafka's
``seek_to_committed`` skips a partition with no committed offset (or 0), so such a partition
stayed past the dropped records: they were never processed, and the next commit went past
them (docs/reliability.md, "Messages lost across rebalances"). ``FetchWaitConsumerThread``
sends such partitions to their start instead, as ``auto_offset_reset="earliest"`` means.
Everything else is Faust's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiokafka
import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP


class FetchWaitConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = transport.fetch_max_wait_ms  # read when the consumer starts its fetcher
        return consumer

    async def seek_to_committed(self) -> Mapping[TP, int]:
        """Seek to the committed offsets; a partition with none goes to its start (``earliest``)."""
        reset = self.app.conf.consumer_auto_offset_reset
        consumer = self._ensure_consumer()
        committed: Mapping[TP, int] = await self.call_thread(seek_to_committed_or_reset, consumer, reset)
        return committed


async def seek_to_committed_or_reset(
    consumer: aiokafka.AIOKafkaConsumer, auto_offset_reset: str
) -> Mapping[Any, int | None]:
    """``consumer.seek_to_committed()``, then, with ``earliest``, the partitions it left alone to their start.

    aiokafka seeks only partitions whose committed offset is above 0; the others keep their fetch
    position, which is past any records Faust fetched and dropped during a rebalance.
    """
    committed: Mapping[Any, int | None] = await consumer.seek_to_committed()
    uncommitted = [tp for tp, offset in committed.items() if not offset]
    if uncommitted and auto_offset_reset == "earliest":
        await consumer.seek_to_beginning(*uncommitted)
    return committed


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
