"""What routes depend on: the store, settings and classifier (overridable in tests), API keys, shared parameters.

``StoreDep``, ``SettingsDep`` and ``ClassifierDep`` read the objects ``create_app`` put on the
application; tests swap them with ``app.dependency_overrides[get_store] = ...``.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, cast

import orjson
from fastapi import Depends, HTTPException, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CollectorRegistry, Counter, Histogram

from api.keys import KeyRing, grants
from api.limits import RateLimiter
from config.components import ApiSettings
from config.routes import Route, RouteTable
from models import Classifier
from models.follow import FixedModel, ModelFollower, model_source
from schemas.api import ApiKeyRow, Problem, SentimentName
from schemas.durations import end_of_now, parse_interval, parse_span
from storage import Store
from storage.queries import Scope, check_relevance_filter

ERRORS: dict[int | str, dict[str, Any]] = {status: {"model": Problem} for status in (401, 403, 413, 429, 503)}


RouteLoader = Callable[[str, FixedModel | ModelFollower], FixedModel | ModelFollower]
"""Loads a route's model by name, given the served model (which ``default`` and its own name stand for)."""


class ClassifierSource:
    """Loads the classifier on first use (read-only deployments never pay for it), and each route's model
    on the first request that names the route's kind.

    ``load`` returns a classifier, or a model source that follows the active version (hot swap):
    each request then takes the model of the moment. ``routes`` are the worker's (``FINSENT_ROUTES``),
    so a text sent with ``kind`` is read by the model that would read it in the stream.
    """

    def __init__(
        self,
        load: Callable[[], Classifier | FixedModel | ModelFollower],
        routes: Sequence[Route] = (),
        load_route: RouteLoader | None = None,
    ) -> None:
        self._load = load
        self._models: FixedModel | ModelFollower | None = None
        self._table = RouteTable(routes)
        self._load_route = load_route
        self._routed: dict[str, FixedModel | ModelFollower] = {}
        self._lock = threading.Lock()

    def get(self) -> Classifier:
        """The served model of the moment."""
        return cast(Classifier, self._served().current())

    def routed(self, kind: str | None, source: str | None) -> Classifier | None:
        """The model the route of ``kind`` (and ``source``) names, if it is not the served one; else None."""
        route = self._table.route_for(kind, source) if kind is not None else None
        if route is None or self._load_route is None:
            return None
        served = self._served()
        with self._lock:
            if route.model not in self._routed:
                self._routed[route.model] = self._load_route(route.model, served)
            models = self._routed[route.model]
        return None if models is served else cast(Classifier, models.current())

    def _served(self) -> FixedModel | ModelFollower:
        with self._lock:
            if self._models is None:
                self._models = model_source(self._load())
            return self._models


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

    settings: ApiSettings
    store: Store
    classifier: ClassifierSource
    keys: KeyRing
    limiter: RateLimiter
    tokens: RateLimiter
    auth_failures: RateLimiter
    metrics: ApiMetrics


def api_state(request: Request) -> ApiState:
    return request.app.state.finsent  # type: ignore[no-any-return]


def get_settings(request: Request) -> ApiSettings:
    return api_state(request).settings


def get_store(request: Request) -> Store:
    return api_state(request).store


def get_classifier(request: Request) -> Classifier:
    return api_state(request).classifier.get()


def get_metrics(request: Request) -> ApiMetrics:
    return api_state(request).metrics


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
ClassifierDep = Annotated[Classifier, Depends(get_classifier)]
RouteModels = Callable[[str | None, str | None], Classifier | None]
"""``ClassifierSource.routed``: the model of a kind's (and source's) route, None for the served model."""


def get_route_models(request: Request) -> RouteModels:
    return api_state(request).classifier.routed


RouteModelsDep = Annotated[RouteModels, Depends(get_route_models)]
MetricsDep = Annotated[ApiMetrics, Depends(get_metrics)]

_bearer = HTTPBearer(auto_error=False, description="an API key from `finsent api-key create`")


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def verified_key(state: ApiState, token: str | None, address: str) -> ApiKeyRow | None:
    """The valid key ``token`` is, or None; counts nothing.

    An address over its budget of failed authentications still gets a valid key verified, but
    only tokens naming an existing key id are looked up: guesses buy no store query.
    """
    if token is None:
        return None
    if state.auth_failures.wait_s(address) > 0 and not state.keys.may_exist(token):
        return None
    return state.keys.verify(token)


def _require(scope: str) -> Callable[..., ApiKeyRow]:
    """A dependency: the request's API key, if valid, of ``scope`` or above, and within its rate limit.

    A failed authentication is counted against the client's address, which gets 429 instead of
    401 once over its budget; a valid key is never refused for its neighbours' failures.
    """

    def check(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> ApiKeyRow:
        state = api_state(request)
        address = client_address(request)
        key = verified_key(state, credentials.credentials if credentials else None, address)
        if key is None:
            if (wait_s := state.auth_failures.acquire(address)) > 0:
                raise _too_many("too many failed authentications from this address", wait_s)
            raise HTTPException(401, "a valid API key is required", headers={"WWW-Authenticate": "Bearer"})
        if not grants(key.scope, scope):
            raise HTTPException(403, f"this key has scope {key.scope!r}; this route needs {scope!r}")
        if (wait_s := state.limiter.acquire(key.key_id)) > 0:
            raise _too_many("rate limit exceeded", wait_s)
        return key

    return check


def _too_many(message: str, wait_s: float) -> HTTPException:
    return HTTPException(429, message, headers={"Retry-After": str(int(wait_s) + 1)})


def charge_tokens(request: Request, key: ApiKeyRow, tokens: int) -> None:
    """Take ``tokens`` from the key's per-minute classification budget, or answer 429."""
    state = api_state(request)
    if (wait_s := state.tokens.acquire(key.key_id, tokens)) > 0:
        per_min = state.settings.key_tokens_per_min
        raise _too_many(f"this key's classification budget of {per_min} tokens per minute is spent", wait_s)


ReadKey = Annotated[ApiKeyRow, Depends(_require("read"))]
WriteKey = Annotated[ApiKeyRow, Depends(_require("write"))]
AdminKey = Annotated[ApiKeyRow, Depends(_require("admin"))]

Sentiment = SentimentName
Symbol = Annotated[str | None, Query(min_length=1, max_length=12, pattern=r"^[A-Za-z]{1,6}([.\-][A-Za-z]{1,2})?$")]
Topic = Annotated[str | None, Query(min_length=1, max_length=64)]
From = Annotated[datetime | None, Query(alias="from", description="ISO 8601; default: `to` minus 24 hours")]
To = Annotated[datetime | None, Query(alias="to", description="ISO 8601; default: now")]
RuleId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
CountBy = Annotated[
    Literal["stories", "documents"],
    Query(description="count distinct stories (a story's copies once, its mean score once) or every document"),
]
MinRelevance = Annotated[
    int,
    Query(
        ge=0,
        le=100,
        description="0-100: only documents at least this relevant to the symbol (symbols only)",
    ),
]


def relevance_filter(min_relevance: int, *, per_symbol: bool) -> None:
    """422 unless ``min_relevance`` may filter this query (``storage.queries.check_relevance_filter``)."""
    try:
        check_relevance_filter(min_relevance, per_symbol=per_symbol)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


def interval_seconds(text: str) -> int:
    """A series interval in seconds (``schemas.durations.parse_interval``), or 422."""
    try:
        return parse_interval(text)
    except ValueError as exc:
        raise HTTPException(422, f"interval: {exc}") from None


def span_seconds(name: str, text: str) -> int:
    """A movers span (``1h``, ``7d``: 1m to 30d) in seconds, or 422 naming the parameter."""
    try:
        return parse_span(text)
    except ValueError as exc:
        raise HTTPException(422, f"{name}: {exc}") from None


def time_range(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC, defaulting to the last 24 hours; 422 for reversed or absurd ranges."""
    try:
        end = _utc(end) if end else end_of_now()
        start = _utc(start) if start else end - timedelta(hours=24)
    except OverflowError:
        raise HTTPException(422, "times must fall between 1971 and 2105") from None
    if start >= end:
        raise HTTPException(422, "`from` must be before `to`")
    if start.year < 1971 or end.year > 2105:
        raise HTTPException(422, "times must fall between 1971 and 2105")
    return start.replace(microsecond=0), end.replace(microsecond=0)


def _requested_range(start: From = None, end: To = None) -> tuple[datetime, datetime]:
    return time_range(start, end)


TimeRange = Annotated[tuple[datetime, datetime], Depends(_requested_range)]
"""A route's ``from`` and ``to`` query parameters as ``time_range`` reads them: ``[start, end)`` in UTC."""


def _requested_scope(span: TimeRange, symbol: Symbol = None, topic: Topic = None) -> Scope:
    start, end = span
    return Scope(symbol=symbol, topic=topic, start=start, end=end)


ScopeQuery = Annotated[Scope, Depends(_requested_scope)]
"""A route's ``symbol``, ``topic``, ``from`` and ``to`` query parameters, as ``storage.queries`` reads take them."""


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
