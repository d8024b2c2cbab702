"""Rows of the story index (``story_keys``, ``story_docs``) and a document's story fields."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

NOVELTY_FIRST = 100
"""The novelty of a story's first document (in the last 24 h)."""


class StoryKeyRow(BaseModel):
    """One LSH band key of one document: documents sharing a key are candidates for one story."""

    model_config = ConfigDict(frozen=True)

    band_key: int = Field(ge=0, lt=2**32)
    event_time: datetime
    doc_id: str


class StoryDocRow(BaseModel):
    """What the index keeps of a document to confirm a candidate: its shingle hashes and facts."""

    model_config = ConfigDict(frozen=True)

    doc_id: str
    event_time: datetime
    shingles: list[int]
    facts: list[str]


class StoryFields(BaseModel):
    """A document's story: the first document's id, earlier copies in the last 12 h and 24 h, novelty."""

    model_config = ConfigDict(frozen=True)

    story_id: str
    similar_12h: int = Field(0, ge=0)
    similar_24h: int = Field(0, ge=0)
    novelty: int = Field(NOVELTY_FIRST, ge=0, le=100)

    @classmethod
    def first(cls, doc_id: str) -> StoryFields:
        """A story of one: what a document gets when nothing earlier is like it."""
        return cls.model_construct(story_id=doc_id, similar_12h=0, similar_24h=0, novelty=NOVELTY_FIRST)


class StoryOut(BaseModel):
    """One story of a range (``GET /v1/stories``, ``finsent query stories``)."""

    story_id: str = Field(description="the id of the story's first document")
    first_seen: datetime
    first_headline: str
    copies: int = Field(ge=1, description="documents of the story in the range")
    sources: list[str]
    mean_score: float = Field(description="p_positive - p_negative averaged over the copies")
    negatives: int = Field(ge=0, description="copies called negative")
