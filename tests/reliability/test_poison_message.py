"""A message just under Kafka's 1 MB limit, whose body finsent refuses, between two valid ones.

Its dead letter used to carry the whole message base64-encoded (a third larger than the
message, so over the producer's limit): the agent died, the worker exited 70, and every restart
died on the same message with the valid documents of its batch unstored. Now the dead letter
carries a bounded copy, the valid documents are stored, and the worker lives on.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from kafka import KafkaProducer

from config import Settings
from config.kafka import kafka_client_config
from finsent.dev.broker import EmbeddedBroker
from schemas import DeadLetter
from schemas.documents import MAX_BODY_CHARS
from tests.streams.feed import start_worker
from tests.streams.test_worker_integration import read_topic, stored_counts, wait_for

pytestmark = pytest.mark.integration
BIG_BODY_CHARS = 840_000


def news(doc_id: str, body: str = "") -> bytes:
    payload = {"id": doc_id, "source": "wire", "published_at": "2026-11-23T09:00:00Z", "headline": "Acme beats"}
    return orjson.dumps(payload | ({"body": body} if body else {}))


def send_news(bootstrap: str, values: list[bytes]) -> None:
    settings = Settings()
    producer = KafkaProducer(acks="all", max_request_size=2**20, **kafka_client_config(settings.kafka, bootstrap))
    try:
        for value in values:
            producer.send(settings.input_topics()["news"], value=value)
        producer.flush()
    finally:
        producer.close()


@pytest.mark.parametrize("store", ["embedded", "clickhouse-server"])
def test_the_poison_message_is_dead_lettered_and_the_worker_stores_the_rest(
    store: str, broker: EmbeddedBroker, worker_env: dict[str, str], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    env = dict(worker_env)
    if store == "clickhouse-server":
        env["FINSENT_STORE_URL"] = request.getfixturevalue("clickhouse_url")
    store_url = env.get("FINSENT_STORE_URL") or f"chdb://{Path(env['FINSENT_DATA_DIR']).resolve() / 'chdb'}"
    big = news("big", body="x" * BIG_BODY_CHARS)
    assert BIG_BODY_CHARS > MAX_BODY_CHARS and len(big) < 1_000_000
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        send_news(broker.bootstrap, [news("before"), big, news("after")])
        wait_for([worker], "messages", 3, timeout_s=120)
        stats = worker.stats() or {}
        assert worker.alive(), worker.log_tail()
    finally:
        worker.stop()
    assert (stats["stored_documents"], stats["dead_letters"]) == (2, 1)
    found, _, _ = stored_counts(store_url, ["news:wire:before", "news:wire:after", "news:wire:big"])
    assert found == 2
    (letter,) = [
        DeadLetter.model_validate_json(value) for value in read_topic(broker.bootstrap, Settings().deadletter_topic)
    ]
    assert letter.truncated and letter.raw_bytes == len(big) and big.startswith(letter.raw)
    assert "body" in letter.error


def test_replay_names_a_line_it_cannot_send_sends_the_rest_and_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from finsent.cli import main

    over_the_limit = news("huge", body="y" * 1_050_000)  # over kafka-python's 1 MB max_request_size
    source = tmp_path / "news.jsonl"
    source.write_bytes(b"\n".join([news("1"), b"", over_the_limit, news("2"), news("3")]))
    with EmbeddedBroker() as broker:
        monkeypatch.setenv("FINSENT_KAFKA_BOOTSTRAP", broker.bootstrap)
        result = CliRunner().invoke(main, ["replay", str(source), "--kind", "news"])
        values = read_topic(broker.bootstrap, Settings().input_topics()["news"])
    summary = orjson.loads(result.stdout.splitlines()[0])
    assert result.exit_code == 6, result.output
    assert (summary["produced"], summary["failed"]) == (4, 1)
    assert summary["failures"][0]["position"] == 3 and "MessageSizeTooLarge" in summary["failures"][0]["reason"]
    assert "line 3: not sent: MessageSizeTooLarge" in result.stderr and "1 of 4 messages not sent" in result.stderr
    assert sorted(values) == sorted([news("1"), news("2"), news("3")])
