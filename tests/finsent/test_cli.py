from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from finsent.cli import main
from schemas import DocumentKind, InvalidMessage, parse_document


def test_generate_to_a_file_writes_one_json_message_per_line(tmp_path: Path) -> None:
    out = tmp_path / "feed.jsonl"
    result = CliRunner().invoke(main, ["generate", "--docs", "50", "--bad-ratio", "0", "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = out.read_bytes().splitlines()
    assert len(lines) == 50
    for line in lines:
        payload = orjson.loads(line)
        kind = DocumentKind.NEWS if "headline" in payload else DocumentKind.SOCIAL
        parse_document(line, kind)


def test_replay_without_kafka_is_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("FINSENT_KAFKA_BOOTSTRAP", raising=False)
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": "1"}\n')
    result = CliRunner().invoke(main, ["replay", str(source), "--kind", "news"])
    assert result.exit_code == 2
    assert "FINSENT_KAFKA_BOOTSTRAP is not set" in result.output


def test_replay_of_a_missing_file_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setenv("FINSENT_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    result = CliRunner().invoke(main, ["replay", "/no/such/file.jsonl", "--kind", "news"])
    assert result.exit_code == 2
    assert "file.jsonl" in result.output


def test_schemas_export(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["schemas", "export", str(tmp_path)])
    assert result.exit_code == 0
    assert len(json.loads(result.stdout)["written"]) == 5


def test_invalid_generated_messages_are_rejected(tmp_path: Path) -> None:
    out = tmp_path / "bad.jsonl"
    CliRunner().invoke(main, ["generate", "--docs", "200", "--bad-ratio", "0.5", "--out", str(out)])
    rejected = 0
    for line in out.read_bytes().splitlines():
        try:
            payload = orjson.loads(line)
            kind = DocumentKind.NEWS if isinstance(payload, dict) and "headline" in payload else DocumentKind.SOCIAL
            parse_document(line, kind)
        except (InvalidMessage, orjson.JSONDecodeError):
            rejected += 1
    assert 60 <= rejected <= 140


@pytest.mark.integration
def test_query_commands_read_what_the_worker_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime

    from schemas import DocumentRow
    from storage import open_store

    monkeypatch.setenv("FINSENT_DATA_DIR", str(tmp_path))
    now = datetime.now(UTC).replace(microsecond=0)
    row = DocumentRow(
        doc_id="d1",
        kind="news",
        source="wire",
        event_time=now,
        ingested_at=now,
        headline="Nvidia slides",
        body="",
        url="",
        author_hash="",
        symbols=["NVDA"],
        content_hash="h",
        topic="Stock Movement",
        topic_confidence=0.9,
        sentiment=-1,
        p_negative=0.9,
        p_neutral=0.05,
        p_positive=0.05,
        score=-0.85,
        model_version="m",
    )
    with open_store(f"chdb://{tmp_path / 'chdb'}") as store:
        store.init_schema()
        store.insert_documents([row])
    series = CliRunner().invoke(main, ["query", "sentiment", "--symbol", "nvda", "--since", "1h", "--format", "json"])
    assert series.exit_code == 0, series.output
    (point,) = json.loads(series.stdout)  # one JSON array; symbols in any case
    assert point["docs"] == 1 and point["negatives"] == 1
    docs = CliRunner().invoke(main, ["query", "documents", "--symbol", "NVDA", "--format", "csv"])
    assert docs.exit_code == 0, docs.output
    header = "doc_id,time,kind,source,headline,url,symbols,topic,sentiment,score"
    header += ",symbol,symbol_sentiment,symbol_score,symbol_source,relevance"  # the asked symbol's own
    assert docs.stdout.splitlines()[0] == header
    assert "Nvidia slides" in docs.stdout and ",negative," in docs.stdout  # sentiment named as the filter names it
    empty = CliRunner().invoke(main, ["query", "documents", "--symbol", "ZZZZ", "--format", "csv"])
    assert empty.stdout.strip() == header
    assert (
        json.loads(CliRunner().invoke(main, ["query", "documents", "--symbol", "ZZZZ", "--format", "json"]).stdout)
        == []
    )
    listed = CliRunner().invoke(main, ["query", "symbols", "--since", "1h", "--format", "json"])
    assert [row["name"] for row in json.loads(listed.stdout)] == ["NVDA"]
    bad = CliRunner().invoke(main, ["query", "sentiment", "--symbol", "NVDA", "--since", "yesterday"])
    assert bad.exit_code == 2 and "duration" in bad.output
    too_long = CliRunner().invoke(main, ["query", "sentiment", "--symbol", "NVDA", "--interval", "7d"])
    assert too_long.exit_code == 2 and "between 1m and 1d" in too_long.output  # the API's rule too
    movers = CliRunner().invoke(main, ["query", "movers", "--window", "1h", "--baseline", "1d", "--min-docs", "1"])
    assert movers.exit_code == 0, movers.output
    long_baseline = CliRunner().invoke(main, ["query", "movers", "--baseline", "90d"])
    assert long_baseline.exit_code == 2 and "between 1m and 30d" in long_baseline.output  # as GET /v1/movers


@pytest.mark.integration
def test_replay_sends_every_line_of_a_file_to_kafka(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kafka import KafkaConsumer, TopicPartition

    from finsent.dev.broker import EmbeddedBroker

    source = tmp_path / "news.jsonl"
    lines = [json.dumps({"id": str(i), "source": "w", "headline": "h"}) for i in range(20)]
    source.write_text("\n".join([*lines, "{bad"]))
    with EmbeddedBroker() as broker:
        monkeypatch.setenv("FINSENT_KAFKA_BOOTSTRAP", broker.bootstrap)
        result = CliRunner().invoke(main, ["replay", str(source), "--kind", "news", "--rate", "500"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["produced"] == 21
        consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, consumer_timeout_ms=2000)
        partitions = [TopicPartition("finsent.news", p) for p in range(4)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        values = [record.value for record in consumer]
        consumer.close()
    assert len(values) == 21
    assert b"{bad" in values
