"""Alert contracts: an ``AlertRecord`` (``finsent.alerts`` and the ``alerts`` table) and its outbox row.

An alert's id is a hash of what makes it unique (rule, scope, scope key, window end), so
evaluating the same window again yields the same id and never a second alert.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator

from schemas.documents import SCHEMA_VERSION
from schemas.records import ScoreRecord

Severity = Literal["info", "warning", "critical"]
Scope = Literal["symbol", "topic", "all"]
DeliveryState = Literal["pending", "delivered", "failed", "not_configured"]
"""``not_configured``: stored while no Grafana is configured; delivered like ``pending`` once one is."""

ALERT_COLUMNS: tuple[str, ...] = (
    "alert_id",
    "rule_id",
    "severity",
    "scope",
    "symbol",
    "topic",
    "metric",
    "comparison",
    "value",
    "threshold",
    "window_s",
    "doc_count",
    "fired_at",
    "headlines",
    "delivery_state",
    "delivery_attempts",
    "annotation_id",
    "version",
)
"""Columns of the ``alerts`` table, in DDL order."""


def alert_id_for(rule_id: str, scope: Scope, scope_key: str, window_end: datetime) -> str:
    """The deterministic id of the alert ``rule_id`` raises for ``scope_key`` in the window ending at ``window_end``."""
    seconds = int(_utc_seconds(window_end).timestamp())
    material = "\x1f".join((rule_id, scope, scope_key, str(seconds)))
    return hashlib.sha256(material.encode()).hexdigest()[:32]


class AlertRecord(BaseModel):
    """One fired alert: what crossed which threshold, over which window, and the headlines behind it.

    ``fired_at`` is the end of the evaluated window (whole seconds, UTC). ``alert_id`` may be
    left out: it is then derived with ``alert_id_for`` from rule, scope, scope key and ``fired_at``.
    """

    model_config = ConfigDict(frozen=True)

    schema_version: Literal[1] = SCHEMA_VERSION
    alert_id: str = Field(default="", max_length=128, pattern=r"^[A-Za-z0-9_.:-]*$")
    rule_id: str = Field(min_length=1, max_length=128)
    severity: Severity
    scope: Scope
    symbol: str = ""
    topic: str = ""
    metric: str = Field(min_length=1)
    comparison: str = Field(min_length=1, description="how value is compared with threshold, e.g. '<' or '>='")
    value: float
    threshold: float
    window_s: int = Field(gt=0, lt=2**32)
    doc_count: int = Field(ge=0, lt=2**32)
    fired_at: datetime
    headlines: list[str] = Field(default_factory=list, description="the headlines that contributed most, first first")

    @field_validator("fired_at")
    @classmethod
    def _whole_utc_seconds(cls, value: datetime) -> datetime:
        return _utc_seconds(value)

    @model_validator(mode="after")
    def _scope_key_and_id(self) -> Self:
        if self.scope == "symbol" and not self.symbol:
            raise ValueError("an alert with scope 'symbol' needs a symbol")
        if self.scope == "topic" and not self.topic:
            raise ValueError("an alert with scope 'topic' needs a topic")
        if not self.alert_id:
            object.__setattr__(self, "alert_id", alert_id_for(self.rule_id, self.scope, self.scope_key, self.fired_at))
        return self

    @property
    def scope_key(self) -> str:
        """The symbol or topic the alert is about ('' for scope 'all')."""
        return {"symbol": self.symbol, "topic": self.topic}.get(self.scope, "")


class AlertRow(AlertRecord):
    """One version of an alert in the ``alerts`` table: the record plus its Grafana delivery state.

    The table is a ReplacingMergeTree on ``version``: a state change inserts the same alert
    again with ``version + 1``, and readers use ``FINAL``.
    """

    delivery_state: DeliveryState = "pending"
    delivery_attempts: int = Field(default=0, ge=0, lt=2**32)
    annotation_id: int = 0
    version: int = Field(default=1, ge=1, lt=2**63)

    @classmethod
    def pending(cls, alert: AlertRecord) -> AlertRow:
        """The first row of a newly raised alert: pending, no attempts yet, version 1."""
        return cls(**alert.model_dump())

    def record(self) -> AlertRecord:
        """The alert itself, without the delivery bookkeeping."""
        return AlertRecord(**self.model_dump(include=set(AlertRecord.model_fields)))

    def next_version(self, **changes: object) -> AlertRow:
        """This row with ``changes`` applied and ``version`` incremented (the row that replaces it)."""
        return self.model_copy(update={**changes, "version": self.version + 1})


def _utc_seconds(value: datetime) -> datetime:
    aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return aware.replace(microsecond=0)


class AlertInput(BaseModel):
    """One document's contribution to one scope key.

    A message on ``finsent.alert-inputs`` is a JSON array of these (``ALERT_INPUTS``), all of
    one key and in order. The topic is keyed by ``partition_key`` so every input of one symbol,
    topic or of the market as a whole reaches the same partition, hence the same rule evaluator.
    """

    model_config = ConfigDict(frozen=True)

    scope: Scope
    key: str = Field(description="the symbol, the topic, or '' for scope 'all'")
    doc_id: str
    event_time: datetime
    score: float = Field(ge=-1, le=1, description="for a symbol, the text's score toward it; else the document's")
    sentiment: Literal[-1, 0, 1]
    headline: str = ""
    relevance: int = Field(100, ge=0, le=100, description="of the document to the symbol; 100 for topics and all")
    novelty: int = Field(100, ge=0, le=100, description="100: the first document of its story in 24 h")

    @property
    def novel(self) -> bool:
        """Whether this is its story's first document (what ``novel_only`` rules count)."""
        return self.novelty == 100

    @property
    def partition_key(self) -> str:
        return alert_input_key(self.scope, self.key)

    @staticmethod
    def fields_of(score: ScoreRecord) -> list[tuple[str, dict[str, Any]]]:
        """What one score record contributes, as ``(partition key, AlertInput's fields)``: to its
        symbol (the text's sentiment toward it, and its relevance), and (once per document) to its
        topic and to the market as a whole (the document's sentiment).

        Plain dicts rather than models: they are serialised at once, three per document, and read
        back as ``AlertInput`` (validated) by the rule engine's agent.
        """
        common = {
            "doc_id": score.doc_id,
            "event_time": score.event_time,
            "headline": score.headline,
            "novelty": score.novelty,
        }
        document = {"score": score.score, "sentiment": score.sentiment, **common}
        found: list[tuple[str, dict[str, Any]]] = []
        if score.symbol:
            per_symbol = {"score": score.symbol_score, "sentiment": score.symbol_sentiment, **common}
            fields = {"scope": "symbol", "key": score.symbol, "relevance": score.relevance, **per_symbol}
            found.append((alert_input_key("symbol", score.symbol), fields))
        if score.doc_first:
            keys: list[tuple[Scope, str]] = [("topic", score.topic), ("all", "")]
            found += [(alert_input_key(scope, key), {"scope": scope, "key": key, **document}) for scope, key in keys]
        return found


def alert_input_key(scope: Scope, key: str) -> str:
    """The Kafka key of ``finsent.alert-inputs`` messages for one scope key, e.g. ``symbol:NVDA``."""
    return f"{scope}:{key}"


ALERT_INPUTS = TypeAdapter(list[AlertInput])
"""One ``finsent.alert-inputs`` message: validates and serialises a whole array in pydantic-core."""
