"""What routes depend on: the store, settings and classifier (overridable in tests), API keys, shared parameters.

``StoreDep``, ``SettingsDep`` and ``ClassifierDep`` read the objects ``create_app`` put on the
application; tests swap them with ``app.dependency_overrides[get_store] = ...``.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import orjson
from fastapi import Depends, HTTPException, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CollectorRegistry, Counter, Histogram

from api.keys import KeyRing, grants
from api.limits import RateLimiter
from config import Settings
from models import Classifier
from schemas.api import ApiKeyRow, Problem
from schemas.durations import parse_duration
from storage import Store

ERRORS: dict[int | str, dict[str, Any]] = {status: {"model": Problem} for status in (401, 403, 413, 429, 503)}


class ClassifierSource:
    """Loads the classifier on first use (read-only deployments never pay for it)."""

    def __init__(self, load: Callable[[], Classifier]) -> None:
        self._load = load
        self._classifier: Classifier | None = None
        self._lock = threading.Lock()

    def get(self) -> Classifier:
        with self._lock:
            if self._classifier is None:
                self._classifier = self._load()
            return self._classifier


@dataclass
class ApiMetrics:
    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    classified: Counter

    @classmethod
    def create(cls) -> ApiMetrics:
        registry = CollectorRegistry()
        return cls(
            registry,
            Counter("finsent_api_requests", "HTTP requests", ["route", "method", "status"], registry=registry),
            Histogram("finsent_api_request_seconds", "HTTP request latency", ["route"], registry=registry),
            Counter("finsent_api_classified_texts", "texts classified", registry=registry),
        )


@dataclass
class ApiState:
    """Everything one API process holds; ``create_app`` puts it on ``app.state.finsent``."""

    settings: Settings
    store: Store
    classifier: ClassifierSource
    keys: KeyRing
    limiter: RateLimiter
    metrics: ApiMetrics


def api_state(request: Request) -> ApiState:
    return request.app.state.finsent  # type: ignore[no-any-return]


def get_settings(request: Request) -> Settings:
    return api_state(request).settings


def get_store(request: Request) -> Store:
    return api_state(request).store


def get_classifier(request: Request) -> Classifier:
    return api_state(request).classifier.get()


def get_metrics(request: Request) -> ApiMetrics:
    return api_state(request).metrics


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
ClassifierDep = Annotated[Classifier, Depends(get_classifier)]
MetricsDep = Annotated[ApiMetrics, Depends(get_metrics)]

_bearer = HTTPBearer(auto_error=False, description="an API key from `finsent api-key create`")


def _require(scope: str) -> Callable[..., ApiKeyRow]:
    """A dependency: the request's API key, if valid, of ``scope`` or above, and within its rate limit."""

    def check(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> ApiKeyRow:
        state = api_state(request)
        key = state.keys.verify(credentials.credentials) if credentials else None
        if key is None:
            raise HTTPException(401, "a valid API key is required", headers={"WWW-Authenticate": "Bearer"})
        if not grants(key.scope, scope):
            raise HTTPException(403, f"this key has scope {key.scope!r}; this route needs {scope!r}")
        wait_s = state.limiter.acquire(key.key_id)
        if wait_s > 0:
            raise HTTPException(429, "rate limit exceeded", headers={"Retry-After": str(int(wait_s) + 1)})
        return key

    return check


ReadKey = Annotated[ApiKeyRow, Depends(_require("read"))]
WriteKey = Annotated[ApiKeyRow, Depends(_require("write"))]
AdminKey = Annotated[ApiKeyRow, Depends(_require("admin"))]

Sentiment = Literal["negative", "neutral", "positive"]
Symbol = Annotated[str | None, Query(min_length=1, max_length=12, pattern=r"^[A-Za-z]{1,6}([.\-][A-Za-z]{1,2})?$")]
Topic = Annotated[str | None, Query(min_length=1, max_length=64)]
From = Annotated[datetime | None, Query(alias="from", description="ISO 8601; default: `to` minus 24 hours")]
To = Annotated[datetime | None, Query(alias="to", description="ISO 8601; default: now")]
RuleId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]


def interval_seconds(text: str) -> int:
    try:
        return parse_duration(text, minimum_s=60, maximum_s=86_400)
    except ValueError as exc:
        raise HTTPException(422, f"interval: {exc}") from None


def time_range(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC, defaulting to the last 24 hours; 422 for reversed or absurd ranges."""
    try:
        end = _utc(end) if end else datetime.now(UTC)
        start = _utc(start) if start else end - timedelta(hours=24)
    except OverflowError:
        raise HTTPException(422, "times must fall between 1971 and 2105") from None
    if start >= end:
        raise HTTPException(422, "`from` must be before `to`")
    if start.year < 1971 or end.year > 2105:
        raise HTTPException(422, "times must fall between 1971 and 2105")
    return start.replace(microsecond=0), end.replace(microsecond=0)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def encode_cursor(time_: datetime, doc_id: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([int(time_.timestamp()), doc_id])).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        seconds, doc_id = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromtimestamp(int(seconds), UTC), str(doc_id)
    except (ValueError, TypeError, OverflowError, OSError, orjson.JSONDecodeError):
        raise HTTPException(422, "invalid cursor: pass back the next_cursor of a previous page") from None
