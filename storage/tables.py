"""The ClickHouse DDL (kept as SQL in ``storage/sql``) and the column lists inserts use (from the row schemas)."""

from __future__ import annotations

from importlib import resources
from string import Template

from schemas.alerts import ALERT_COLUMNS
from schemas.api import ApiKeyRow
from schemas.learning import LabelRow, ModelActivationRow, ModelVersionRow, ShadowRow, ShadowSettingRow
from schemas.records import KAFKA_ONLY_FIELDS, BatchRow, DeadLetterRow, DocumentRow, ScoreRecord
from schemas.stories import StoryDocRow, StoryKeyRow

TABLES: dict[str, tuple[str, ...]] = {
    "documents": tuple(DocumentRow.model_fields),
    "scores": tuple(name for name in ScoreRecord.model_fields if name not in KAFKA_ONLY_FIELDS),
    "alerts": ALERT_COLUMNS,
    "dead_letters": tuple(DeadLetterRow.model_fields),
    "pipeline_batches": tuple(BatchRow.model_fields),
    "api_keys": tuple(ApiKeyRow.model_fields),
    "labels": tuple(LabelRow.model_fields),
    "model_versions": tuple(ModelVersionRow.model_fields),
    "model_activations": tuple(ModelActivationRow.model_fields),
    "shadow_scores": tuple(ShadowRow.model_fields),
    "model_shadows": tuple(ShadowSettingRow.model_fields),
    "story_keys": tuple(StoryKeyRow.model_fields),
    "story_docs": tuple(StoryDocRow.model_fields),
}


ROLLUPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "stories_by_symbol_1m": (
        ("symbol String", "story_id String", "relevance UInt8"),
        ("symbol", "minute", "story_id", "relevance"),
    ),
    "stories_by_topic_1m": (("topic String", "story_id String"), ("topic", "minute", "story_id")),
}
"""The per-minute rollups: each table's key columns and sort key; their aggregates are the same."""
AGGREGATES = ("symbol_aggregates", "document_aggregates")
"""What a rollup's view computes, per symbol and per document (``storage/sql/<name>.sql``): one text
for the view of the documents and the view of their stories."""


def ddl_statements() -> list[str]:
    """Every CREATE statement, in order, without trailing separators."""
    sql = resources.files("storage").joinpath("sql")
    rollup_table = Template(sql.joinpath("rollup_table.sql").read_text())
    pieces = {
        table: rollup_table.substitute(
            table=table, keys="\n".join(f"    {column}," for column in keys), order=", ".join(order)
        )
        for table, (keys, order) in ROLLUPS.items()
    }
    pieces |= {name: sql.joinpath(f"{name}.sql").read_text().rstrip("\n") for name in AGGREGATES}
    text = Template(sql.joinpath("tables.sql").read_text()).substitute(pieces)
    statements = []
    for chunk in text.split("\n;\n"):
        lines = [line for line in chunk.splitlines() if not line.strip().startswith("--")]
        statement = "\n".join(lines).strip()
        if statement:
            statements.append(statement)
    return statements
