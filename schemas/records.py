"""Output contracts: scored records (Kafka and the ``scores`` table), stored documents, dead letters."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.documents import SCHEMA_VERSION

HEADLINE_CHARS = 300


class ScoreRecord(BaseModel):
    """One scored (document, symbol) pair; an empty symbol means the document named none."""

    model_config = ConfigDict(frozen=True)

    schema_version: Literal[1] = SCHEMA_VERSION
    doc_id: str
    kind: Literal["news", "social"]
    source: str
    symbol: str
    event_time: datetime
    topic: str
    topic_confidence: float = Field(ge=0, le=1)
    sentiment: Literal[-1, 0, 1]
    p_negative: float = Field(ge=0, le=1)
    p_neutral: float = Field(ge=0, le=1)
    p_positive: float = Field(ge=0, le=1)
    score: float = Field(ge=-1, le=1)
    model_version: str
    ingested_at: datetime
    headline: str = Field("", max_length=HEADLINE_CHARS, description="on Kafka only, for alert texts")
    doc_first: bool = Field(
        True, description="on Kafka only: true on exactly one of a document's records (per-document aggregates)"
    )
    symbol_sentiment: Literal[-1, 0, 1] = Field(description="the text's sentiment toward this symbol")
    symbol_score: float = Field(ge=-1, le=1, description="p_positive - p_negative toward this symbol")
    symbol_source: Literal["mention", "document"] = Field(
        "document", description="mention: read from the symbol's mentions; document: the document's, copied"
    )
    relevance: int = Field(100, ge=0, le=100, description="how much the document is about this symbol")
    story_id: str = Field("", description="on Kafka only: the first document of this one's story ('' in older records)")
    novelty: int = Field(
        100, ge=0, le=100, description="on Kafka only: 100 for a story's first document in 24 h, less for its copies"
    )

    @model_validator(mode="before")
    @classmethod
    def _document_values_by_default(cls, data: Any) -> Any:
        """Records written before per-symbol sentiment carry the document's values for their symbol."""
        if isinstance(data, dict):
            data = {"symbol_sentiment": data.get("sentiment"), "symbol_score": data.get("score"), **data}
        return data


KAFKA_ONLY_FIELDS = frozenset({"schema_version", "headline", "doc_first", "story_id", "novelty"})
"""ScoreRecord fields that travel on ``finsent.scores`` but are not columns of the ``scores`` table."""


class DocumentRow(BaseModel):
    """One row of the ``documents`` table: the document, its symbols and its scores."""

    model_config = ConfigDict(frozen=True)

    doc_id: str
    kind: Literal["news", "social"]
    source: str
    event_time: datetime
    ingested_at: datetime
    headline: str
    body: str
    url: str
    author_hash: str
    symbols: list[str]
    content_hash: str
    topic: str
    topic_confidence: float
    sentiment: int
    p_negative: float
    p_neutral: float
    p_positive: float
    score: float
    model_version: str
    likes: int = 0
    reposts: int = 0
    replies: int = 0
    insert_token: str = Field(
        default="",
        pattern=r"^[0-9a-f]{0,64}$",
        description="the id of the insert that stored this row; replayed after a crash to complete the rollups",
    )
    symbol_sentiments: list[int] = Field(
        default_factory=list, description="per symbol (same order as ``symbols``) the text's sentiment toward it"
    )
    symbol_scores: list[float] = Field(default_factory=list, description="per symbol, p_positive - p_negative")
    symbol_sources: list[Literal["mention", "document"]] = Field(
        default_factory=list, description="per symbol: read from its mentions, or the document's copied"
    )
    relevances: list[int] = Field(default_factory=list, description="per symbol, 0-100")
    story_id: str = Field("", description="the first document of this one's story; '' means the document itself")
    similar_12h: int = Field(0, ge=0, description="earlier documents of the same story in the 12 h before it")
    similar_24h: int = Field(0, ge=0, description="earlier documents of the same story in the 24 h before it")
    novelty: int = Field(100, ge=0, le=100, description="100 for a story's first document, lower for its copies")

    @model_validator(mode="after")
    def _own_story(self) -> Self:
        if not self.story_id:
            object.__setattr__(self, "story_id", self.doc_id)  # a story of one
        return self


DEAD_LETTER_RAW_BYTES = 64 * 1024
"""At most this many bytes of a bad message travel in its dead letter (base64: a third more).

A dead letter must always fit the dead-letter topic, whatever arrived: the whole message stays
in its source topic, addressed by ``topic``, ``partition`` and ``offset``.
"""
DEAD_LETTER_ERROR_CHARS = 2_000


class DeadLetter(BaseModel):
    """A message that could not be stored, with where it came from, why, and a bounded copy of it."""

    model_config = ConfigDict(frozen=True)

    schema_version: Literal[1] = SCHEMA_VERSION
    topic: str
    partition: int
    offset: int
    error: str
    raw_base64: str = Field(description=f"the message's first {DEAD_LETTER_RAW_BYTES} bytes, base64")
    raw_bytes: int | None = Field(None, ge=0, description="the message's whole size (absent in older letters)")
    failed_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @classmethod
    def for_message(cls, raw: bytes, topic: str, partition: int, offset: int, error: str) -> DeadLetter:
        return cls(
            topic=topic,
            partition=partition,
            offset=offset,
            error=error[:DEAD_LETTER_ERROR_CHARS],
            raw_base64=base64.b64encode(raw[:DEAD_LETTER_RAW_BYTES]).decode(),
            raw_bytes=len(raw),
        )

    @property
    def raw(self) -> bytes:
        """The bytes the letter carries: the whole message unless ``truncated``."""
        return base64.b64decode(self.raw_base64)

    @property
    def truncated(self) -> bool:
        """Whether the message was larger than the copy it carries (read it from its source topic)."""
        return self.raw_bytes is not None and self.raw_bytes > len(self.raw)

    def without_raw(self, why: str) -> DeadLetter:
        """The same letter with no copy of the message and ``why`` added to its error: the smallest it can be."""
        error = f"{self.error} [{why}]"[:DEAD_LETTER_ERROR_CHARS]
        raw_bytes = self.raw_bytes if self.raw_bytes is not None else len(self.raw)
        return self.model_copy(update={"raw_base64": "", "raw_bytes": raw_bytes, "error": error})


RAW_PREVIEW_CHARS = 1_000


class DeadLetterRow(BaseModel):
    """One row of the ``dead_letters`` table: a dead letter with a preview of its raw bytes."""

    model_config = ConfigDict(frozen=True)

    topic: str
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)
    error: str
    raw_preview: str
    raw_bytes: int = Field(ge=0)
    failed_at: datetime

    @classmethod
    def of(cls, letter: DeadLetter) -> DeadLetterRow:
        raw = letter.raw
        preview = raw[: RAW_PREVIEW_CHARS * 4].decode("utf-8", errors="replace")[:RAW_PREVIEW_CHARS]
        return cls(
            topic=letter.topic,
            partition=letter.partition,
            offset=letter.offset,
            error=letter.error,
            raw_preview=preview.replace("\x00", "\ufffd"),
            raw_bytes=letter.raw_bytes if letter.raw_bytes is not None else len(raw),
            failed_at=letter.failed_at,
        )


class BatchRow(BaseModel):
    """One row of the ``pipeline_batches`` table: what one worker batch did and the lag it left."""

    model_config = ConfigDict(frozen=True)

    worker: str
    finished_at: datetime
    messages: int = Field(ge=0)
    documents: int = Field(ge=0)
    dead_letters: int = Field(ge=0)
    duplicates: int = Field(ge=0)
    seconds: float = Field(ge=0)
    lag: int = Field(ge=0)
