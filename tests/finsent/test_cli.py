from __future__ import annotations

import json
from pathlib import Path

import orjson
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
