"""Faults around the worker: the broker vanishes, a second worker comes and goes, Grafana is down."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from finsent.dev.broker import EmbeddedBroker
from streams.watchdog import EXIT_BROKER_GONE, BrokerWatchdog, reachable
from tests.storage.clickhouse_server import ClickHouseProcess
from tests.streams.feed import send_feed, start_worker
from tests.streams.test_worker_integration import stored_counts, wait_for


def test_watchdog_logs_the_outage_then_gives_up(caplog: pytest.LogCaptureFixture) -> None:
    now, up, gave_up = [0.0], [True], []
    watchdog = BrokerWatchdog("kafka:9092", give_up_s=30, probe=lambda _: up[0], give_up=lambda: gave_up.append(now[0]),
                              clock=lambda: now[0])  # fmt: skip
    watchdog.check()
    up[0] = False
    for now[0] in (1.0, 11.0, 21.0):
        watchdog.check()
    assert gave_up == [] and caplog.text.count("cannot reach Kafka at kafka:9092") == 3
    up[0] = True
    watchdog.check()  # back: the outage clock restarts
    up[0] = False
    for now[0] in (40.0, 60.0, 71.0):
        watchdog.check()
    assert gave_up == [71.0] and "unreachable for 31 s: exiting" in caplog.text


def test_reachable_probes_every_bootstrap_server() -> None:
    with EmbeddedBroker() as broker:
        assert reachable(f"127.0.0.1:1,{broker.bootstrap}")
    assert not reachable("127.0.0.1:1,not a server")


@pytest.mark.integration
def test_a_worker_whose_broker_vanishes_says_so_and_exits(worker_env: dict[str, str], tmp_path: Path) -> None:
    with EmbeddedBroker() as broker:
        env = worker_env | {"FINSENT_KAFKA_BOOTSTRAP": broker.bootstrap, "FINSENT_KAFKA_UNAVAILABLE_EXIT_S": "8"}
        worker = start_worker(env, tmp_path / "worker.log")
    gone = time.monotonic()
    while worker.alive() and time.monotonic() - gone < 60:
        time.sleep(0.5)
    assert worker.returncode == EXIT_BROKER_GONE, worker.log_tail()
    assert "cannot reach Kafka" in worker.log_file.read_text()
    assert time.monotonic() - gone < 30


@pytest.mark.integration
def test_a_second_worker_joining_and_leaving_mid_stream_loses_nothing(
    broker: EmbeddedBroker, worker_env: dict[str, str], tmp_path: Path, clickhouse_url: str
) -> None:
    env = worker_env | {"FINSENT_STORE_URL": clickhouse_url}
    first = start_worker(env, tmp_path / "worker-1.log")
    second = start_worker(env, tmp_path / "worker-2.log")
    feed = send_feed(broker.bootstrap, docs=400, bad_ratio=0.05, seed=303, rate=100)
    wait_for([second], "batches", 1)
    second.stop()
    feed_rest = send_feed(broker.bootstrap, docs=400, bad_ratio=0.05, seed=304)
    expected = len(feed.valid_ids) + len(feed_rest.valid_ids)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        found, final_rows, _ = stored_counts(clickhouse_url, feed.valid_ids + feed_rest.valid_ids)
        if found == expected:
            break
        time.sleep(1)
    first.stop()
    found, final_rows, _ = stored_counts(clickhouse_url, feed.valid_ids + feed_rest.valid_ids)
    assert found == final_rows == expected


@pytest.mark.integration
def test_clickhouse_down_for_a_minute_mid_stream_loses_nothing(
    broker: EmbeddedBroker, worker_env: dict[str, str], tmp_path: Path
) -> None:
    server = ClickHouseProcess(tmp_path / "clickhouse").start()
    try:
        env = worker_env | {"FINSENT_STORE_URL": server.url}
        worker = start_worker(env, tmp_path / "worker.log")
        feeds: list = []
        sender = threading.Thread(
            target=lambda: feeds.append(send_feed(broker.bootstrap, docs=1_500, bad_ratio=0.05, seed=404, rate=25))
        )
        sender.start()
        wait_for([worker], "stored_documents", 100)
        server.stop()
        rss = [float((worker.stats() or {})["rss_mb"])]
        outage_ends = time.monotonic() + 60
        while time.monotonic() < outage_ends:
            time.sleep(5)
            rss.append(float((worker.stats() or {})["rss_mb"]))
            assert worker.alive(), worker.log_tail()
        server.start()
        sender.join()
        valid = feeds[0].valid_ids
        wait_for([worker], "stored_documents", len(valid), timeout_s=240)
        worker.stop()
        found, final_rows, _ = stored_counts(server.url, valid)
    finally:
        server.stop()
    assert found == final_rows == len(valid)
    assert max(rss) - rss[0] < 150, f"RSS grew during the outage: {rss}"
    assert "failed (attempt" in worker.log_file.read_text()  # the retries were logged
