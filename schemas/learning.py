"""Contracts of the learning loop: people's labels, model versions, and which version is active."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.api import SentimentName

LabelTask = Literal["sentiment", "topic"]
CLI_LABELLER = "cli"
"""Who a label from ``finsent label`` is by (a local operator); API labels carry the key id."""
DOC_ID_PATTERN = r"^[A-Za-z0-9:._\-]{1,200}$"


class LabelRow(BaseModel):
    """One person's label for one task of one document (``labels``; the latest per labeller counts)."""

    model_config = ConfigDict(frozen=True)

    doc_id: str
    task: LabelTask
    label: str
    labeller: str = Field(description="an API key id, or 'cli'; never a person's name")
    labelled_at: datetime
    model_version: str = Field(description="the model version whose prediction this label corrects")


class LabelRequest(BaseModel):
    """``POST /v1/labels``: a correction of one document's sentiment, topic, or both."""

    model_config = ConfigDict(extra="forbid")

    doc_id: str = Field(pattern=DOC_ID_PATTERN)
    sentiment: SentimentName | None = None
    topic: str | None = Field(None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _one_task_at_least(self) -> LabelRequest:
        if self.sentiment is None and self.topic is None:
            raise ValueError("give sentiment, topic or both")
        return self


class ModelVersionRow(BaseModel):
    """A trained model in the registry (``model_versions``): where it is, what it came from, how it scored."""

    model_config = ConfigDict(frozen=True)

    version: str
    parent: str = Field(description="the version it was fine-tuned from ('' for a shipped base model)")
    path: str = Field(description="the model directory every worker and API process loads")
    created_at: datetime
    summary: str = Field(description="JSON: training examples per source, the labels' time range")
    metrics: str = Field(description="JSON: challenger and champion figures per evaluation set, the decision")


class ModelActivationRow(BaseModel):
    """One change of the active version (``model_activations``); the highest ``sequence`` is in force."""

    model_config = ConfigDict(frozen=True)

    sequence: int = Field(ge=0, description="microseconds since the epoch when the change was made")
    changed_at: datetime
    version: str
    previous: str
    reason: str
    actor: str


class ShadowRow(BaseModel):
    """One document scored by a challenger beside the model that scored it (``shadow_scores``)."""

    model_config = ConfigDict(frozen=True)

    doc_id: str
    champion: str
    challenger: str
    champion_sentiment: int = Field(ge=-1, le=1)
    challenger_sentiment: int = Field(ge=-1, le=1)
    champion_score: float = Field(ge=-1, le=1)
    challenger_score: float = Field(ge=-1, le=1)
    champion_topic: str
    challenger_topic: str
    scored_at: datetime


class ShadowSettingRow(BaseModel):
    """One change of shadow scoring (``model_shadows``): which version, on what share of documents; '' is off."""

    model_config = ConfigDict(frozen=True)

    sequence: int = Field(ge=0)
    changed_at: datetime
    version: str
    sample_rate: float = Field(ge=0, le=1)
    actor: str
