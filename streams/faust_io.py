"""The Faust helpers both agents share: batches in, acks, sends to the broker, and exiting on a crash.

The classify agent (``streams.app``) and the alert agent (``streams.alert_agent``) take their
input the same way (unacked batches), send through the same producer and fail the same way (the
worker exits and is restarted); only what they do with a batch differs.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import faust
from aiokafka.errors import MessageSizeTooLargeError, RecordListTooLargeError, RecordTooLargeError
from faust.types import EventT
from mode.utils.aiter import aiter

from config.components import BatchSettings
from streams.batching import BatchPolicy
from streams.exceptions import MessageTooLarge

log = logging.getLogger(__name__)

EXIT_AGENT_CRASHED = 70
Events = list[EventT]


def take_batches(stream: faust.StreamT, batching: BatchSettings) -> AsyncIterator[Events]:
    """Batches of at most ``batching.max_size`` events, closed as ``streams.batching.BatchPolicy`` says with
    ``batching.max_wait_s`` as its bound; no event is acked until the agent acks it (``ack_events``)."""
    return BatchTaker(stream, BatchPolicy(batching.max_size, batching.max_wait_s)).batches()


class BatchTaker:
    """Reads a stream into a buffer and hands the buffer out as batches when ``policy`` closes them.

    Faust's ``noack_take`` with another closing rule: it closes a batch a fixed ``within`` after
    the previous one was processed, which adds that wait to every batch however long its
    documents have waited already. As there, the stream is read passively through a processor,
    nothing is acked here, and nothing is read while a batch is out (what arrives meanwhile
    waits in Faust's queue, as it did).
    """

    def __init__(self, stream: faust.StreamT, policy: BatchPolicy, clock: Callable[[], float] = time.monotonic):
        self.stream = stream
        self.policy = policy
        self.clock = clock
        self._buffer: Events = []
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._closed_at = self._first_at = self._arrived_at = clock()

    async def batches(self) -> AsyncIterator[Events]:
        """The batches, until the stream stops."""
        stream: Any = self.stream  # the passive reading below is Faust's own, as noack_take does it
        enable_acks = stream.enable_acks
        stream.enable_acks = False
        stream.add_processor(self._add)
        stream._enable_passive(aiter(stream.channel))
        try:
            while not stream.should_stop:
                delay = self._close_in()
                if delay is not None and delay <= 0:
                    yield self._take()
                    self._room.set()
                    continue
                self._wake.clear()
                await stream.wait_for_stopped(self._wake, timeout=delay)
        finally:
            stream.enable_acks = enable_acks
            stream._processors.remove(self._add)

    def _close_in(self) -> float | None:
        now = self.clock()
        return self.policy.close_in(
            len(self._buffer), now - self._closed_at, now - self._first_at, now - self._arrived_at
        )

    def _take(self) -> Events:
        batch, self._buffer = self._buffer, []
        self._closed_at = self.clock()
        self._room.clear()  # until the agent is done with this batch
        return batch

    async def _add(self, value: Any) -> Any:
        try:
            while not self._room.is_set() and not self.stream.should_stop:
                await self.stream.wait(self._room)  # type: ignore[attr-defined]  # mode.Service.wait, not on StreamT
            event = self.stream.current_event
            if event is None:
                raise RuntimeError("the batch taker found no current event")
            self._buffer.append(event)
            self._arrived_at = self.clock()
            if len(self._buffer) == 1:
                self._first_at = self._arrived_at
            full = len(self._buffer) >= self.policy.max_size
            if full:
                self._room.clear()
            # Woken for the first document and a full batch only; otherwise the loop's own timer rechecks.
            if full or len(self._buffer) == 1:
                self._wake.set()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("error adding to the batch buffer: %r", exc)
            await self.stream.crash(exc)
        return value


def ack_events(stream: faust.StreamT, events: Sequence[EventT]) -> Callable[[], Awaitable[None]]:
    """The ack of a batch taken by ``take_batches``: acks every event, to be called once it is done."""

    async def ack() -> None:
        for event in events:
            await stream.ack(event)

    return ack


async def send_all(topic: faust.TopicT, messages: Sequence[tuple[bytes | None, bytes]]) -> None:
    """Send ``(key, value)`` messages and wait until the broker has them all.

    Through Faust's producer rather than ``topic.send``: a quarter of the cost per message,
    which adds up at a few messages per document (finsent needs no Faust codecs or callbacks here).
    """
    if not messages:
        return
    await topic.maybe_declare()  # once per topic and process: Faust caches it
    producer = await topic.app.maybe_start_producer()
    name = topic.get_topic_name()
    pending = [await producer.send(name, key, value, None, None, None) for key, value in messages]
    await asyncio.gather(*pending)


class FaustProducer:
    """``BatchProducer`` over a Faust app: topics declared once, sends through its producer."""

    def __init__(self, app: faust.App):
        self.app = app
        self._topics: dict[str, faust.TopicT] = {}

    async def send(self, topic: str, messages: Sequence[tuple[bytes | None, bytes]]) -> None:
        if topic not in self._topics:
            self._topics[topic] = self.app.topic(topic, value_type=bytes, key_type=bytes)
        try:
            await send_all(self._topics[topic], messages)
        except Exception as exc:
            if _refused_for_size(exc):
                raise MessageTooLarge(f"{topic}: {_root_cause(exc)}") from exc
            raise


_SIZE_ERRORS = (MessageSizeTooLargeError, RecordListTooLargeError, RecordTooLargeError)


def _refused_for_size(exc: BaseException) -> bool:
    """Whether ``exc`` (Faust wraps aiokafka's errors in ``ProducerSendError``) is a size refusal."""
    return isinstance(_root_cause(exc), _SIZE_ERRORS)


def _root_cause(exc: BaseException) -> BaseException:
    for _ in range(10):  # a bounded walk down the chain of causes
        if exc.__cause__ is None:
            break
        exc = exc.__cause__
    return exc


def exit_on_crash(agent: Callable[[faust.StreamT], Awaitable[None]]) -> Callable[[faust.StreamT], Awaitable[None]]:
    """Exit the worker (status 70) when an agent fails unexpectedly, instead of running on without it.

    Faust would log the crash and keep the process alive with that agent gone: a worker that
    looks healthy and consumes nothing. Exiting hands the problem to the supervisor; nothing
    unacknowledged is lost (its batch is redone after the restart).
    """

    @functools.wraps(agent)
    async def guarded(stream: faust.StreamT) -> None:
        try:
            await agent(stream)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.critical("agent %s failed; exiting so the worker is restarted", agent.__name__, exc_info=True)
            logging.shutdown()
            os._exit(EXIT_AGENT_CRASHED)

    return guarded


def consumer_lag(app: faust.App, events: Sequence[EventT]) -> int:
    """Messages behind the end of the partitions this batch came from (0 where the end is unknown)."""
    last: dict[Any, int] = {}
    for event in events:
        tp = event.message.tp
        last[tp] = max(last.get(tp, -1), event.message.offset)
    lag = 0
    for tp, offset in last.items():
        highwater = app.consumer.highwater(tp)
        if highwater is not None:
            lag += max(0, int(highwater) - offset - 1)
    return lag
