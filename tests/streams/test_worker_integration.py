"""Real worker processes on the embedded broker: end to end, kill -9, two workers in a group."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition

from config import Settings
from config.kafka import kafka_client_config
from finsent.dev.broker import EmbeddedBroker
from finsent.dev.process import WorkerProcess
from storage import open_store
from tests.streams.feed import send_feed, start_worker

pytestmark = pytest.mark.integration


def wait_for(workers: list[WorkerProcess], key: str, expected: int, timeout_s: float = 180) -> None:
    """Wait until the workers' ``key`` stat (summed) reaches ``expected``; fail on timeout or a dead worker."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = sum(int((w.stats() or {}).get(key, 0)) for w in workers)
        if value >= expected:
            return
        assert all(w.alive() for w in workers), workers[0].log_tail()
        assert time.monotonic() < deadline, f"{key} reached {value} of {expected}:\n{workers[0].log_tail()}"
        time.sleep(0.25)


def wait_idle(worker: WorkerProcess, quiet_s: float = 3.0, timeout_s: float = 60) -> None:
    """Wait until the worker's message count has not moved for ``quiet_s``."""
    deadline = time.monotonic() + timeout_s
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        current = (worker.stats() or {}).get("messages")
        if current != last:
            last, since = current, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
        time.sleep(0.25)


def stored_counts(store_url: str, doc_ids: list[str]) -> tuple[int, int, int]:
    """(distinct stored ids among doc_ids, FINAL row count, raw row count) of documents."""
    with open_store(store_url) as store:
        found = len(store.existing_documents(doc_ids))
        return found, store.count_documents(final=True), store.count_documents(final=False)


def read_topic(bootstrap: str, topic: str) -> list[bytes]:
    consumer = KafkaConsumer(
        **kafka_client_config(Settings().kafka, bootstrap), enable_auto_commit=False, consumer_timeout_ms=2000
    )
    partitions = [TopicPartition(topic, p) for p in range(4)]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    values = [record.value for record in consumer]
    consumer.close()
    return values


def chdb_url(env: dict[str, str]) -> str:
    return f"chdb://{Path(env['FINSENT_DATA_DIR']).resolve() / 'chdb'}"


def test_worker_stores_every_valid_document_and_dead_letters_the_rest(
    broker: EmbeddedBroker, worker_env: dict[str, str], tmp_path: Path
) -> None:
    worker = start_worker(worker_env, tmp_path / "worker.log")
    feed = send_feed(broker.bootstrap, docs=400, bad_ratio=0.1, seed=101)
    wait_for([worker], "messages", feed.stats.produced)
    stats = worker.stats()
    worker.stop()
    assert stats is not None
    assert stats["dead_letters"] == feed.stats.produced - len(feed.valid_ids)
    found, final_rows, _ = stored_counts(chdb_url(worker_env), feed.valid_ids)
    assert found == final_rows == len(feed.valid_ids)
    dead = [orjson.loads(v) for v in read_topic(broker.bootstrap, "finsent.deadletter")]
    assert len(dead) >= stats["dead_letters"]
    assert all(d["error"] and d["topic"] in {"finsent.news", "finsent.social"} for d in dead)
    scores = [orjson.loads(v) for v in read_topic(broker.bootstrap, "finsent.scores")]
    assert {s["doc_id"] for s in scores} >= set(feed.valid_ids)
    # The tiny model has no entity head: every symbol carries the document's reading, and says so.
    named = [s for s in scores if s["symbol"]]
    assert named and all((s["symbol_score"], s["symbol_source"]) == (s["score"], "document") for s in named)
    assert all(1 <= s["relevance"] <= 100 for s in named)
    # Every message came with its producer's timestamp: each batch's commit counted all of them.
    assert stats["delay_ms"]["messages"] == stats["messages"]
    assert 0 <= stats["delay_ms"]["p50"] <= stats["delay_ms"]["p99"] < 120_000
    with open_store(chdb_url(worker_env)) as store:
        dead_rows = store._query("SELECT count(), countIf(error = '') FROM dead_letters FINAL")[0]
        batch_rows = store._query("SELECT count(), sum(messages) FROM pipeline_batches")[0]
        unparallel = store._query(
            "SELECT countIf(length(symbol_scores) != length(symbols) OR length(relevances) != length(symbols)),"
            " countIf(notEmpty(symbols)) FROM documents FINAL"
        )[0]
    assert unparallel[0] == 0 and unparallel[1] > 0
    assert tuple(dead_rows) == (stats["dead_letters"], 0)
    assert tuple(batch_rows) == (stats["batches"], stats["messages"])


def test_kill_9_mid_stream_then_restart_stores_each_document_exactly_once(
    broker: EmbeddedBroker, worker_env: dict[str, str], tmp_path: Path
) -> None:
    first = start_worker(worker_env, tmp_path / "worker-1.log")
    feed = send_feed(broker.bootstrap, docs=1500, bad_ratio=0.05, seed=202)
    deadline = time.monotonic() + 120
    while int((first.stats() or {}).get("stored_documents", 0)) < 200:
        assert time.monotonic() < deadline, first.log_tail()
        time.sleep(0.05)
    first.kill()
    second = start_worker(worker_env, tmp_path / "worker-2.log")
    wait_for([second], "documents_in_store", len(feed.valid_ids))
    wait_idle(second)
    second.stop()
    found, final_rows, raw_rows = stored_counts(chdb_url(worker_env), feed.valid_ids)
    assert found == len(feed.valid_ids), "a valid document was lost"
    assert final_rows == len(feed.valid_ids), "a document is stored twice after dedup"
    assert raw_rows >= final_rows


def test_two_workers_share_the_partitions(
    broker: EmbeddedBroker, worker_env: dict[str, str], tmp_path: Path, clickhouse_url: str
) -> None:
    env = {**worker_env, "FINSENT_STORE_URL": clickhouse_url}
    with open_store(clickhouse_url) as store:
        store.init_schema()
    first = start_worker(env, tmp_path / "a.log")
    second = WorkerProcess(env, tmp_path / "b.log").start()
    second.wait_ready(timeout_s=240)
    deadline = time.monotonic() + 60
    while True:
        owned = [int((w.stats() or {}).get("assigned_partitions", 0)) for w in (first, second)]
        if all(owned):
            break
        assert time.monotonic() < deadline, f"partitions not split: {owned}"
        time.sleep(0.5)
    feed = send_feed(broker.bootstrap, docs=600, bad_ratio=0.0, seed=303)
    wait_for([first, second], "messages", feed.stats.produced)
    handled = [int((w.stats() or {}).get("messages", 0)) for w in (first, second)]
    first.stop()
    second.stop()
    assert all(h > 0 for h in handled), f"one worker processed nothing: {handled}"
    assert sum(handled) == feed.stats.produced
    with open_store(clickhouse_url) as store:
        assert len(store.existing_documents(feed.valid_ids)) == len(feed.valid_ids)
