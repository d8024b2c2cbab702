"""HTTP API contracts (``finsent api``) and the ``api_keys`` table row."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_DOCUMENTS_PAGE = 500
"""Documents one query returns at most, for the CLI and the API alike."""
MAX_ALERTS_PAGE = 1_000
"""Alerts one query returns at most, for the CLI and the API alike."""

SentimentName = Literal["negative", "neutral", "positive"]
"""How sentiment is named in every output and filter (stored as -1, 0, 1)."""
ApiScope = Literal["read", "write", "admin"]
SCOPE_RANK: dict[str, int] = {"read": 1, "write": 2, "admin": 3}
"""A key's scope grants every lower one: admin ⊃ write ⊃ read."""


class ApiKeyRow(BaseModel):
    """One version of an API key in ``api_keys``: only a salted hash of the secret is stored."""

    model_config = ConfigDict(frozen=True)

    key_id: str
    name: str
    scope: ApiScope
    salt: str
    key_hash: str
    created_at: datetime
    revoked: int = Field(0, ge=0, le=1)
    version: int = Field(1, ge=1)


MAX_TICKERS_PER_TEXT = 50
"""Explicit tickers a ``/v1/classify`` text may carry (the symbols kept per text are capped too)."""

TextTickers = Annotated[list[Annotated[str, Field(max_length=16)]], Field(max_length=MAX_TICKERS_PER_TEXT)]


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    texts: list[str] = Field(min_length=1, description="texts to classify; the server caps count and length")
    tickers: list[TextTickers] | None = Field(
        None,
        description="per text (as many lists as texts), tickers it is about, as a message's explicit tickers: "
        "one the text never names gets the text's sentiment (source document)",
    )
    kind: Literal["news", "social"] | None = Field(
        None,
        description="read the texts as the worker reads documents of this kind (and source): with the model "
        "its route names (FINSENT_ROUTES; by default news by the teacher); unset: the served model",
    )
    source: str | None = Field(
        None, min_length=1, max_length=64, description="with kind: the documents' source, for a route of one source"
    )

    @field_validator("texts")
    @classmethod
    def _valid_unicode(cls, texts: list[str]) -> list[str]:
        for index, text in enumerate(texts):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(f"texts[{index}] is not valid Unicode (an unpaired surrogate)") from None
        return texts

    @model_validator(mode="after")
    def _tickers_per_text(self) -> ClassifyRequest:
        if self.tickers is not None and len(self.tickers) != len(self.texts):
            raise ValueError(f"tickers has {len(self.tickers)} lists for {len(self.texts)} texts; give one per text")
        if self.source is not None and self.kind is None:
            raise ValueError("source names a route only with kind: give kind too")
        return self


class MentionOut(BaseModel):
    """Where a text names a symbol: ``text[start:end]``, in Unicode code points (as Python indexes a
    string; a JavaScript client counting UTF-16 units must convert for characters beyond the BMP)."""

    start: int
    end: int
    kind: Literal["cashtag", "ticker", "name"]


class SymbolOut(BaseModel):
    """A symbol a text is about: the text's sentiment toward it and how much the text is about it."""

    symbol: str
    sentiment: Literal[-1, 0, 1]
    sentiment_label: SentimentName
    score: float = Field(description="p_positive - p_negative toward this symbol")
    source: Literal["mention", "document"] = Field(
        description="mention: read from its mentions; document: the text's own sentiment (explicit-only "
        "tickers, or a model without an entity head)"
    )
    relevance: int = Field(ge=0, le=100, description="how much the text is about the symbol, 0-100")
    mentions: list[MentionOut] = Field(
        description="its earliest mentions, those the model read (empty for an explicit-only ticker)"
    )


class PredictionOut(BaseModel):
    topic: str
    topic_confidence: float
    sentiment: Literal[-1, 0, 1]
    sentiment_label: Literal["negative", "neutral", "positive"]
    p_negative: float
    p_neutral: float
    p_positive: float
    score: float
    symbols: list[SymbolOut] = Field(default_factory=list, description="the symbols the text is about, sorted")


class ClassifyResponse(BaseModel):
    model_version: str
    predictions: list[PredictionOut]


STORIES_FIELD = "distinct stories (count=stories only): a story's copies count once"
STORY_MEAN = "with count=stories, the mean of the stories' own mean scores (each story's copies averaged first)"


class SentimentPoint(BaseModel):
    time: datetime
    stories: int | None = Field(None, description=STORIES_FIELD)
    docs: int
    mean_score: float = Field(description=f"p_positive - p_negative; {STORY_MEAN}")
    negatives: int = Field(description="negative documents, or with count=stories, stories mostly negative")
    positives: int = Field(description="positive documents, or with count=stories, stories mostly positive")


class SentimentSeries(BaseModel):
    symbol: str | None
    topic: str | None
    interval_s: int
    points: list[SentimentPoint]


class DocumentOut(BaseModel):
    doc_id: str
    time: datetime
    kind: str
    source: str
    headline: str
    url: str
    symbols: list[str]
    topic: str
    sentiment: Literal["negative", "neutral", "positive"]
    score: float
    symbol: str | None = Field(None, description="the symbol asked for; the fields below are about it")
    symbol_sentiment: SentimentName | None = Field(None, description="the text's sentiment toward the symbol")
    symbol_score: float | None = Field(None, description="p_positive - p_negative toward the symbol")
    symbol_source: Literal["mention", "document"] | None = Field(
        None, description="mention: read from the symbol's mentions; document: the document's, copied"
    )
    relevance: int | None = Field(None, description="0-100: how much the document is about the symbol")


class Activity(BaseModel):
    """A symbol or topic with documents in the requested range."""

    name: str
    stories: int | None = Field(None, description=STORIES_FIELD)
    docs: int
    mean_score: float = Field(description=STORY_MEAN)


class Mover(BaseModel):
    """A symbol or topic whose mean score moved in the window, against its trailing baseline."""

    name: str
    stories: int | None = Field(None, description=STORIES_FIELD)
    docs: int
    mean_score: float = Field(description=STORY_MEAN)
    baseline_stories: int | None = Field(None, description=STORIES_FIELD)
    baseline_docs: int
    baseline_score: float | None
    score_change: float | None = Field(description="window mean score minus the baseline's; null without a baseline")
    volume_ratio: float | None = Field(
        description="stories (count=stories) or documents per hour, window over baseline"
    )


class DeadLetterReason(BaseModel):
    reason: str
    messages: int
    latest: datetime


class DeadLetterOut(BaseModel):
    failed_at: datetime
    topic: str
    partition: int
    offset: int
    error: str
    raw_preview: str


class DeadLetters(BaseModel):
    """Dead letters in the range: counts per reason and the newest items."""

    reasons: list[DeadLetterReason]
    latest: list[DeadLetterOut]


class DocumentPage(BaseModel):
    documents: list[DocumentOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next (older) page; null at the end")


class AlertOut(BaseModel):
    alert_id: str
    rule_id: str
    severity: str
    scope: str
    symbol: str
    topic: str
    metric: str
    comparison: str
    value: float
    threshold: float
    window_s: int
    doc_count: int
    fired_at: datetime
    headlines: list[str]
    delivery_state: str


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
    email: str | None = Field(None, max_length=320)
    webhook: str | None = Field(None, max_length=2048)
    slack: str | None = Field(None, max_length=2048)


class Problem(BaseModel):
    """Every error answer: what went wrong, in one sentence."""

    detail: str
