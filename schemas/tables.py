"""The ClickHouse DDL (kept as SQL in ``schemas/sql``) and the column lists inserts use."""

from __future__ import annotations

from importlib import resources

from schemas.alerts import ALERT_COLUMNS

TABLES: dict[str, tuple[str, ...]] = {
    "documents": (
        "doc_id",
        "kind",
        "source",
        "event_time",
        "ingested_at",
        "headline",
        "body",
        "url",
        "author_hash",
        "symbols",
        "content_hash",
        "topic",
        "topic_confidence",
        "sentiment",
        "p_negative",
        "p_neutral",
        "p_positive",
        "score",
        "model_version",
        "likes",
        "reposts",
        "replies",
    ),
    "scores": (
        "doc_id",
        "kind",
        "source",
        "symbol",
        "event_time",
        "topic",
        "topic_confidence",
        "sentiment",
        "p_negative",
        "p_neutral",
        "p_positive",
        "score",
        "model_version",
        "ingested_at",
    ),
    "alerts": ALERT_COLUMNS,
}


def ddl_statements() -> list[str]:
    """Every CREATE statement, in order, without trailing separators."""
    text = resources.files("schemas").joinpath("sql/tables.sql").read_text()
    statements = []
    for chunk in text.split("\n;\n"):
        lines = [line for line in chunk.splitlines() if not line.strip().startswith("--")]
        statement = "\n".join(lines).strip()
        if statement:
            statements.append(statement)
    return statements
