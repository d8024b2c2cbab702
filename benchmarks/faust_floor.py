"""How fast a bare Faust agent consumes here: the floor under finsent's cost per document.

    python benchmarks/faust_floor.py [--messages N] [--runs R]

A fresh embedded broker is loaded with N generated news items and posts. One Faust agent reads
them with ``noack_take`` and acks each event, as finsent's classify agent does, and does nothing
else: no parsing, model, store or sends. Its rate bounds ``finsent bench pipeline``'s
``ceiling_docs_per_s`` from above. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import tempfile
import time
from multiprocessing.connection import Connection

from config import Settings
from config.kafka import kafka_client_config
from finsent.dev.bench import feed, machine
from finsent.dev.broker import EmbeddedBroker
from ingest.producer import produce


def consume_all(bootstrap: str, topics: list[str], messages: int, results: Connection) -> None:
    """Run a Faust worker whose one agent takes and acks ``messages`` events; report wall and CPU seconds."""
    import faust

    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # Faust's start-up spinner; stdout is for the JSON line
    app = faust.App(
        f"floor-{os.getpid()}",
        broker=f"kafka://{bootstrap}",
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=6,
        broker_heartbeat_interval=2,
        store="memory://",
        datadir=tempfile.mkdtemp(prefix="finsent-floor-"),
    )
    topic = app.topic(*topics, value_type=bytes, key_type=bytes, value_serializer="raw", key_serializer="raw")
    seen = {"count": 0, "wall": 0.0, "cpu": 0.0}

    @app.agent(topic)
    async def take_and_ack(stream: faust.StreamT) -> None:
        async for events in stream.noack_take(1024, within=0.05):  # type: ignore[attr-defined]
            if not seen["count"]:
                seen["wall"], seen["cpu"] = time.perf_counter(), time.process_time()
            seen["count"] += len(events)
            for event in events:
                await stream.ack(event)
            if seen["count"] >= messages:
                results.send(
                    {
                        "count": seen["count"],
                        "wall_s": time.perf_counter() - seen["wall"],
                        "cpu_s": time.process_time() - seen["cpu"],
                    }
                )
                os._exit(0)  # the measurement is done; Faust's orderly shutdown takes seconds

    faust.Worker(app, loglevel="warning", quiet=True).execute_from_commandline()


def measure(messages: int) -> dict[str, float]:
    with EmbeddedBroker() as broker:
        settings = Settings(kafka_bootstrap=broker.bootstrap)
        topics = settings.input_topics()
        produce(feed(messages, seed=11), kafka_client_config(settings.kafka, broker.bootstrap), topics, progress=False)
        context = multiprocessing.get_context("spawn")
        receiver, sender = context.Pipe(duplex=False)
        worker = context.Process(target=consume_all, args=(broker.bootstrap, list(topics.values()), messages, sender))
        worker.start()
        try:
            if not receiver.poll(timeout=300):
                raise TimeoutError("the Faust worker did not consume the backlog within 300 s")
            run = receiver.recv()
        finally:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.kill()
    # The clock starts when the first batch arrives, which flatters Faust slightly (an upper bound).
    return {
        "msgs_per_s": round(run["count"] / run["wall_s"], 1),
        "cpu_us_per_msg": round(run["cpu_s"] / run["count"] * 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=30_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs = [measure(args.messages) for _ in range(args.runs)]
    print(json.dumps({"messages": args.messages, "runs": runs, "machine": machine()}))


if __name__ == "__main__":
    main()
