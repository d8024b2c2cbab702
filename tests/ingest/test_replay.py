"""Replaying recorded messages from JSONL, JSON and CSV files and from stdin."""

from __future__ import annotations

import io
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import orjson
import pytest

from ingest import FeedConfig, FeedGenerator, count_lines, read_messages
from ingest.replay import resolve_format
from schemas import DocumentKind, parse_document

NEWS = DocumentKind.NEWS
SOCIAL = DocumentKind.SOCIAL
GOOD = b'{"id":"n1","source":"wire","published_at":"2024-05-01T12:00:00Z","headline":"Apple beats","tickers":["AAPL"]}'
GOOD_2 = b'{"id":"n2","source":"wire","published_at":"2024-05-01T12:01:00Z","headline":"Oil slides"}'
SOCIAL_CSV = (
    "id,platform,author,created_at,text,tickers,engagement_likes,engagement_reposts,engagement_replies\n"
    's1,x,otter,2024-05-01T12:00:00Z,"Holding $AAPL\nand $MSFT, both strong",AAPL|MSFT,12,3,\n'
    "s2,reddit,fox,2024-05-01T12:01:00Z,Oil looks weak,,0,0,0\n"
    "s3,x,owl,not-a-time,bad row,NVDA AMD,1,1,1\n"
)


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", SimpleNamespace(buffer=io.BytesIO(data)))


def test_jsonl_passes_lines_through(tmp_path: Path) -> None:
    bad = b'{"id":"n3","source":"wire","headline":"no time"}'
    path = _write(tmp_path, "feed.jsonl", GOOD + b"\r\n\n" + bad + b"\n" + b"\xff\xfe not json\n" + GOOD_2)
    messages = list(read_messages(path, NEWS))
    assert [m.value for m in messages] == [GOOD, bad, b"\xff\xfe not json", GOOD_2]
    assert [m.valid for m in messages] == [True, False, False, True]
    assert [m.key for m in messages] == [b"n1", None, None, b"n2"]
    assert "published_at" in messages[1].note and "JSON" in messages[2].note
    assert all(m.kind is NEWS for m in messages)


def test_generated_feed_round_trips(tmp_path: Path) -> None:
    feed = list(FeedGenerator(FeedConfig(bad_ratio=0.2, start=datetime(2024, 1, 2, tzinfo=UTC))).messages(300))
    news = [m for m in feed if m.kind is NEWS]
    path = _write(tmp_path, "news.ndjson", b"\n".join(m.value for m in news) + b"\n")
    replayed = list(read_messages(str(path), NEWS))
    assert [(m.value, m.valid, m.key) for m in replayed] == [(m.value, m.valid, m.key) for m in news]


def test_csv_rows_become_objects(tmp_path: Path) -> None:
    path = _write(tmp_path, "posts.csv", SOCIAL_CSV.encode())
    messages = list(read_messages(path, SOCIAL))
    assert [m.valid for m in messages] == [True, True, False]
    first = orjson.loads(messages[0].value)
    assert first["text"] == "Holding $AAPL\nand $MSFT, both strong"
    assert first["tickers"] == ["AAPL", "MSFT"]
    assert first["engagement"] == {"likes": "12", "reposts": "3"}
    assert "tickers" not in orjson.loads(messages[1].value)
    assert orjson.loads(messages[2].value)["tickers"] == ["NVDA", "AMD"]
    doc = parse_document(messages[0].value, SOCIAL)
    assert (doc.tickers, doc.likes, doc.replies) == (("AAPL", "MSFT"), 12, 0)
    assert messages[0].key == b"s1"


def test_csv_news_with_quoted_body_and_schema_version(tmp_path: Path) -> None:
    data = (
        "\ufeffschema_version,id,source,published_at,headline,body,tickers\n"
        '1,n9,wire,2024-05-01T12:00:00+02:00,"Exxon, Chevron gain","Line one.\r\nLine two.","XOM, CVX"\n'
    )
    (message,) = read_messages(_write(tmp_path, "news.CSV", data.encode()), NEWS)
    doc = parse_document(message.value, NEWS)
    assert message.valid and doc.body == "Line one.\nLine two." and doc.tickers == ("XOM", "CVX")


def test_json_array_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "news.json", b"[" + GOOD + b", 7, " + GOOD_2 + b"]")
    assert [m.valid for m in read_messages(path, NEWS)] == [True, False, True]


def test_json_extension_with_json_lines(tmp_path: Path) -> None:
    path = _write(tmp_path, "news.json", GOOD + b"\n" + GOOD_2 + b"\n")
    assert [m.key for m in read_messages(path, NEWS)] == [b"n1", b"n2"]


def test_stdin_defaults_to_jsonl(monkeypatch: pytest.MonkeyPatch) -> None:
    _stdin(monkeypatch, GOOD + b"\nnot json\n")
    assert [m.valid for m in read_messages("-", NEWS)] == [True, False]


def test_stdin_csv(monkeypatch: pytest.MonkeyPatch) -> None:
    _stdin(monkeypatch, SOCIAL_CSV.encode())
    assert len(list(read_messages("-", SOCIAL, fmt="csv"))) == 3
    assert not sys.stdin.buffer.closed


def test_fmt_overrides_extension(tmp_path: Path) -> None:
    path = _write(tmp_path, "dump.txt", GOOD + b"\n")
    assert len(list(read_messages(path, NEWS, fmt="jsonl"))) == 1


@pytest.mark.parametrize(("path", "fmt"), [("feed.xml", None), ("feed.jsonl", "parquet"), ("-", "yaml")])
def test_unknown_format_is_refused(tmp_path: Path, path: str, fmt: str | None) -> None:
    with pytest.raises(ValueError, match="format"):
        read_messages(path if path == "-" else _write(tmp_path, path, GOOD), NEWS, fmt)


def test_missing_file_is_refused_before_iteration(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no such file"):
        read_messages(tmp_path / "absent.jsonl", NEWS)
    with pytest.raises(ValueError, match="no such file"):
        count_lines(tmp_path / "absent.jsonl")


def test_resolve_format() -> None:
    assert [resolve_format(p) for p in ("a.jsonl", "a.NDJSON", "a.json", "a.csv", "-")] == [
        "jsonl",
        "jsonl",
        "json",
        "csv",
        "jsonl",
    ]
    assert resolve_format("a.csv", "ndjson") == "jsonl"


def test_count_lines(tmp_path: Path) -> None:
    assert count_lines(_write(tmp_path, "a.jsonl", GOOD + b"\n" + GOOD_2)) == 2
    assert count_lines(_write(tmp_path, "b.jsonl", GOOD + b"\n")) == 1
    assert count_lines(_write(tmp_path, "empty.jsonl", b"")) == 0
    assert count_lines(_write(tmp_path, "c.csv", b"id,text\n1,a\n2,b\n")) == 2
    assert count_lines("-") is None
