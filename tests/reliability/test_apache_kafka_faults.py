"""Apache Kafka goes away under a running worker: back after a few seconds, then gone for good."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from finsent.dev.apache_kafka import ApacheKafkaBroker
from storage import open_store
from storage.queries import rollup_document_count
from streams.watchdog import EXIT_BROKER_GONE
from tests.kafka.broker import create_own_topics, kafka_worker_env, require_apache_kafka
from tests.streams.feed import send_feed, start_worker
from tests.streams.test_worker_integration import chdb_url, stored_counts, wait_for

pytestmark = pytest.mark.integration
GIVE_UP_S = 40  # well above the restart below (18.5 s from stop to answering again on a busy machine)


def test_broker_restart_mid_stream_loses_nothing_then_a_lasting_outage_exits_75(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    require_apache_kafka()
    with ApacheKafkaBroker(work_dir=tmp_path / "kafka") as broker:
        env = kafka_worker_env(broker.bootstrap, tmp_path / "data", tiny_model_dir, "restart",
                               FINSENT_KAFKA_UNAVAILABLE_EXIT_S=str(GIVE_UP_S))  # fmt: skip
        settings, env = create_own_topics(broker.bootstrap, env)
        worker = start_worker(env, tmp_path / "worker.log")
        before = send_feed(broker.bootstrap, docs=1_500, bad_ratio=0.05, seed=606, settings=settings)
        wait_for([worker], "stored_documents", 150)
        stopped = time.monotonic()
        broker.stop()
        time.sleep(3)
        broker.start()
        print(f"broker down for {time.monotonic() - stopped:.1f} s (stop, 3 s, start on the same log dir)")
        after = send_feed(broker.bootstrap, docs=300, bad_ratio=0.05, seed=607, settings=settings)
        expected = before.valid_ids + after.valid_ids
        wait_for([worker], "documents_in_store", len(expected), timeout_s=240)
        print(f"all {len(expected)} stored {time.monotonic() - stopped:.1f} s after the broker stopped")
        assert worker.alive(), "the worker reconnected without a restart"
        found, final_rows, _ = stored_counts(chdb_url(env), expected)
        assert found == final_rows == len(expected)
        with open_store(chdb_url(env)) as store:
            assert rollup_document_count(store) == len(expected), "a document was counted twice"
        broker.stop()
        gone = time.monotonic()
        while worker.alive() and time.monotonic() - gone < GIVE_UP_S + 60:
            time.sleep(0.5)
    print(f"worker exited {time.monotonic() - gone:.1f} s after the broker stopped for good")
    assert worker.returncode == EXIT_BROKER_GONE, worker.log_tail()
    assert "cannot reach Kafka" in worker.log_file.read_text()
