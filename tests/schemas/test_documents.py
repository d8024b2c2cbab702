from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from schemas import DocumentKind, InvalidMessage, ScoreRecord, parse_document
from schemas.export import export_schemas
from storage.tables import ddl_statements

NEWS = {"id": "1", "source": "wire", "published_at": "2026-11-23T10:00:00+01:00", "headline": "Apple beats"}
POST = {"id": "9", "platform": "x", "author": "@bob", "created_at": "2026-11-23T10:00:00Z", "text": "$tsla up"}


def parse(payload: object, kind: DocumentKind = DocumentKind.NEWS):
    return parse_document(orjson.dumps(payload), kind, b"key")


def test_news_becomes_a_document_in_utc() -> None:
    doc = parse({**NEWS, "body": "More text.", "tickers": ["$aapl", "brk-b"]})
    assert doc.doc_id == "news:wire:1"
    assert doc.event_time.isoformat() == "2026-11-23T09:00:00+00:00"
    assert doc.tickers == ("AAPL", "BRK.B")
    assert doc.text == "Apple beats\nMore text."


def test_social_post_hashes_author_and_keeps_engagement() -> None:
    doc = parse({**POST, "engagement": {"likes": 5}}, DocumentKind.SOCIAL)
    assert doc.doc_id == "social:x:9"
    assert doc.author_hash and "bob" not in doc.author_hash
    assert (doc.likes, doc.reposts) == (5, 0)


def test_invisible_and_control_characters_are_removed() -> None:
    doc = parse({**NEWS, "headline": "Ap\u200bple\u202e beats\x00"})
    assert doc.headline == "Apple beats"


def test_content_hash_tracks_content_not_identity() -> None:
    assert parse(NEWS).content_hash == parse({**NEWS, "url": "https://x.test/a"}).content_hash
    assert parse(NEWS).content_hash != parse({**NEWS, "headline": "Apple misses"}).content_hash


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{oops", "invalid JSON"),
        (b"\xff\xfe", "invalid JSON"),
        (b"[1, 2]", "expected a JSON object"),
        (orjson.dumps({**NEWS, "headline": "  "}), "headline"),
        (orjson.dumps({**NEWS, "published_at": "1969-12-31T00:00:00Z"}), "outside"),
        (orjson.dumps({**NEWS, "published_at": "2026-11-23T10:00:00"}), "timezone"),
        (orjson.dumps({**NEWS, "schema_version": 2}), "schema_version"),
        (orjson.dumps({**NEWS, "tickers": ["$" + "A" * 40]}), "tickers"),
        (orjson.dumps({k: v for k, v in NEWS.items() if k != "source"}), "source"),
    ],
)
def test_invalid_news_gives_a_readable_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        parse_document(raw, DocumentKind.NEWS)
    assert reason in caught.value.reason


def test_engagement_must_be_non_negative() -> None:
    with pytest.raises(InvalidMessage, match="likes"):
        parse({**POST, "engagement": {"likes": -1}}, DocumentKind.SOCIAL)


def test_ddl_has_every_table_and_view() -> None:
    statements = ddl_statements()
    names = [s.split("EXISTS", 1)[1].split()[0] for s in statements]
    assert names == [
        "documents",
        "scores",
        "stories_by_symbol_1m",
        "stories_by_symbol_1m_mv",
        "stories_by_topic_1m",
        "stories_by_topic_1m_mv",
        "alerts",
        "dead_letters",
        "pipeline_batches",
        "api_keys",
        "labels",
        "model_versions",
        "model_activations",
        "shadow_scores",
        "model_shadows",
        "story_keys",
        "story_docs",
    ]
    assert not any(s.rstrip().endswith(";") for s in statements)


def test_export_writes_json_schemas_and_sql(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from finsent.cli import main

    result = CliRunner().invoke(main, ["schemas", "export", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert {p.name for p in tmp_path.iterdir()} == {
        "news_article.schema.json",
        "social_post.schema.json",
        "score_record.schema.json",
        "dead_letter.schema.json",
        "clickhouse.sql",
    }
    assert {p.name for p in export_schemas(tmp_path / "json")} == {
        "news_article.schema.json",
        "social_post.schema.json",
        "score_record.schema.json",
        "dead_letter.schema.json",
    }
    schema = json.loads((tmp_path / "score_record.schema.json").read_text())
    assert set(ScoreRecord.model_fields) <= set(schema["properties"])


def test_table_columns_match_the_ddl() -> None:
    from storage.tables import TABLES

    for statement in ddl_statements():
        name = statement.split("EXISTS", 1)[1].split()[0]
        if name not in TABLES:
            continue
        body = statement.split("(", 1)[1].rsplit(")\nENGINE", 1)[0]
        columns = tuple(line.strip().split()[0] for line in body.strip().splitlines())
        assert columns == TABLES[name], name
