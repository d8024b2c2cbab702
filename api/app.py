"""The FastAPI application behind ``finsent api``.

Every route but ``/healthz`` and ``/metrics`` needs a bearer API key (``finsent api-key create``):
read for queries and classification, write for subscriptions, admin for alert rules. Each key
has its own rate limit. Every SQL statement is parameterized (``storage.queries``).
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar

import orjson
from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from alerts import rules, subscriptions
from alerts.exceptions import GrafanaAuthError, GrafanaError, GrafanaUnavailable, SubscriptionError
from alerts.grafana import Grafana
from alerts.rules import Rule
from api.keys import KeyRing, grants
from api.limits import RateLimiter
from config import Settings
from models import Classifier
from schemas.api import (
    AlertOut,
    ApiKeyRow,
    ClassifyRequest,
    ClassifyResponse,
    DocumentOut,
    DocumentPage,
    PredictionOut,
    Problem,
    SentimentSeries,
    SubscriptionIn,
)
from schemas.durations import DURATION_PATTERN, parse_duration
from storage import Store, StoreError, StoreUnavailable
from storage.queries import documents_page, fired_alerts, sentiment_series_json

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_POINTS = 50_000
"""A sentiment series longer than this many intervals is refused (pick a longer interval)."""
ERRORS: dict[int | str, dict[str, Any]] = {status: {"model": Problem} for status in (401, 403, 413, 429, 503)}

Sentiment = Literal["negative", "neutral", "positive"]
Symbol = Annotated[str | None, Query(min_length=1, max_length=12, pattern=r"^[A-Za-z]{1,6}([.\-][A-Za-z]{1,2})?$")]
Topic = Annotated[str | None, Query(min_length=1, max_length=64)]
From = Annotated[datetime | None, Query(alias="from", description="ISO 8601; default: `to` minus 24 hours")]
To = Annotated[datetime | None, Query(alias="to", description="ISO 8601; default: now")]


_bearer = HTTPBearer(auto_error=False, description="an API key from `finsent api-key create`")


def _require(scope: str) -> Callable[..., ApiKeyRow]:
    """A dependency: the request's API key, if valid, of ``scope`` or above, and within its rate limit."""

    def check(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> ApiKeyRow:
        keys: KeyRing = request.app.state.keys
        key = keys.verify(credentials.credentials) if credentials else None
        if key is None:
            raise HTTPException(401, "a valid API key is required", headers={"WWW-Authenticate": "Bearer"})
        if not grants(key.scope, scope):
            raise HTTPException(403, f"this key has scope {key.scope!r}; this route needs {scope!r}")
        limiter: RateLimiter = request.app.state.limiter
        wait_s = limiter.acquire(key.key_id)
        if wait_s > 0:
            raise HTTPException(429, "rate limit exceeded", headers={"Retry-After": str(int(wait_s) + 1)})
        return key

    return check


ReadKey = Annotated[ApiKeyRow, Depends(_require("read"))]
WriteKey = Annotated[ApiKeyRow, Depends(_require("write"))]
AdminKey = Annotated[ApiKeyRow, Depends(_require("admin"))]
RuleId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]


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


def create_app(settings: Settings, store: Store, classifier: ClassifierSource) -> FastAPI:
    """The API over ``store``; ``classifier`` is loaded on the first classify request."""
    keys = KeyRing(store, cache_s=settings.api_key_cache_s)
    limiter = RateLimiter(settings.api_rate_limit_per_min)
    registry = CollectorRegistry()
    requests = Counter("finsent_api_requests", "HTTP requests", ["route", "method", "status"], registry=registry)
    latency = Histogram("finsent_api_request_seconds", "HTTP request latency", ["route"], registry=registry)
    classified = Counter("finsent_api_classified_texts", "texts classified", registry=registry)

    app = FastAPI(
        title="finsent API",
        version="1",
        summary="Financial sentiment history, ad-hoc classification and alerts.",
    )
    app.state.keys, app.state.limiter = keys, limiter

    @app.middleware("http")
    async def measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > settings.api_max_body_bytes:
            return JSONResponse({"detail": f"request body over {settings.api_max_body_bytes} bytes"}, 413)
        started = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        latency.labels(route).observe(time.perf_counter() - started)
        requests.labels(route, request.method, str(response.status_code)).inc()
        return response

    @app.exception_handler(StoreUnavailable)
    async def store_down(request: Request, exc: StoreUnavailable) -> JSONResponse:
        log.warning("store unavailable: %s", exc)
        return JSONResponse({"detail": "the store is unavailable; retry shortly"}, 503, headers={"Retry-After": "5"})

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError) -> JSONResponse:
        log.error("store error: %s", exc)
        return JSONResponse({"detail": "the store could not answer this query"}, 500)

    @app.get("/healthz", tags=["operations"], responses={503: {"model": Problem}})
    def healthz() -> dict[str, str]:
        """200 when the store answers."""
        store.ping()
        return {"status": "ok", "store": store.description}

    @app.get("/metrics", tags=["operations"], response_class=Response)
    def metrics() -> Response:
        """Prometheus metrics of this API process."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.post("/v1/classify", tags=["model"], responses=ERRORS)
    def classify(body: ClassifyRequest, key: ReadKey) -> ClassifyResponse:
        """Topic and sentiment of each text, in order (one model call for the batch)."""
        if len(body.texts) > settings.api_max_texts:
            raise HTTPException(413, f"at most {settings.api_max_texts} texts per request, got {len(body.texts)}")
        for index, text in enumerate(body.texts):
            if len(text) > settings.api_max_text_chars:
                raise HTTPException(
                    413, f"texts[{index}] has {len(text)} characters; the limit is {settings.api_max_text_chars}"
                )
            if not text.strip():
                raise HTTPException(422, f"texts[{index}] is empty or whitespace")
        model = classifier.get()
        predictions = model.predict(body.texts)
        classified.inc(len(predictions))
        return ClassifyResponse(
            model_version=model.model_version,
            predictions=[PredictionOut(**_prediction_fields(p)) for p in predictions],
        )

    @app.get("/v1/sentiment", tags=["history"], responses=ERRORS, response_model=SentimentSeries)
    def sentiment(
        key: ReadKey,
        symbol: Symbol = None,
        topic: Topic = None,
        start: From = None,
        end: To = None,
        interval: Annotated[str, Query(pattern=DURATION_PATTERN, description="1m to 1d, e.g. 5m, 1h")] = "1m",
    ) -> Response:
        """Documents, mean score and negative/positive counts per interval, for one symbol or one topic."""
        if (symbol is None) == (topic is None):
            raise HTTPException(422, "give exactly one of symbol or topic")
        interval_s = _interval_seconds(interval)
        start, end = _time_range(start, end)
        if (end - start).total_seconds() / interval_s > MAX_POINTS:
            raise HTTPException(422, f"more than {MAX_POINTS} intervals: use a longer interval or a shorter range")
        symbol = symbol.upper() if symbol else None
        points = sentiment_series_json(store, symbol=symbol, topic=topic, start=start, end=end, interval_s=interval_s)
        # A month of minutes is 43,200 points: ClickHouse writes them as JSON and they pass through
        # untouched (no Python object per point); tests check the result against SentimentSeries.
        series = {"symbol": symbol, "topic": topic, "interval_s": interval_s, "points": orjson.Fragment(points)}
        return Response(orjson.dumps(series), media_type="application/json")

    @app.get("/v1/documents", tags=["history"], responses=ERRORS)
    def documents(
        key: ReadKey,
        symbol: Symbol = None,
        topic: Topic = None,
        sentiment: Sentiment | None = None,
        start: From = None,
        end: To = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
    ) -> DocumentPage:
        """Stored documents, newest first, one page at a time."""
        start, end = _time_range(start, end)
        rows = documents_page(
            store,
            symbol=symbol.upper() if symbol else None,
            topic=topic,
            sentiment=sentiment,
            start=start,
            end=end,
            limit=limit,
            before=_decode_cursor(cursor) if cursor else None,
        )
        page = [DocumentOut(**row) for row in rows]
        next_cursor = _encode_cursor(page[-1].time, page[-1].doc_id) if len(page) == limit else None
        return DocumentPage(documents=page, next_cursor=next_cursor)

    @app.get("/v1/alerts", tags=["alerts"], responses=ERRORS)
    def alerts(
        key: ReadKey,
        rule: Annotated[str | None, Query(max_length=128)] = None,
        symbol: Symbol = None,
        topic: Topic = None,
        start: From = None,
        end: To = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[AlertOut]:
        """Alerts fired in the range, newest first, with their Grafana delivery state."""
        start, end = _time_range(start, end)
        rows = fired_alerts(
            store,
            rule_id=rule,
            symbol=symbol.upper() if symbol else None,
            topic=topic,
            start=start,
            end=end,
            limit=limit,
        )
        return [AlertOut(**row) for row in rows]

    @app.get("/v1/subscriptions", tags=["alerts"], responses=ERRORS | {502: {"model": Problem}})
    def list_subscriptions(
        key: ReadKey, rule: Annotated[str | None, Query(max_length=128)] = None
    ) -> list[dict[str, Any]]:
        """Who Grafana notifies, per rule (provisioned through Grafana's alerting API)."""
        with _grafana(settings) as grafana:
            return [asdict(found) for found in subscriptions.list_subscriptions(grafana, rule)]

    @app.post("/v1/subscriptions", tags=["alerts"], responses=ERRORS | {502: {"model": Problem}})
    def subscribe(body: SubscriptionIn, key: WriteKey) -> dict[str, Any]:
        """Notify one email address, webhook or Slack channel when a rule fires; idempotent."""
        with _grafana(settings) as grafana:
            changes = subscriptions.subscribe(
                grafana,
                body.rule,
                email=body.email,
                webhook=body.webhook,
                slack=body.slack,
                datasource_uid=settings.grafana_datasource_uid,
            )
        return {"rule": body.rule, "changed": changes.changed, **asdict(changes)}

    @app.delete("/v1/subscriptions", tags=["alerts"], responses=ERRORS | {502: {"model": Problem}})
    def unsubscribe(
        key: WriteKey,
        rule: Annotated[str, Query(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")],
        email: Annotated[str | None, Query(max_length=320)] = None,
        webhook: Annotated[str | None, Query(max_length=2048)] = None,
        slack: Annotated[str | None, Query(max_length=2048)] = None,
    ) -> dict[str, Any]:
        """Stop notifying one target, or every subscriber of the rule when none is given; idempotent."""
        with _grafana(settings) as grafana:
            target = subscriptions.target_from(email=email, webhook=webhook, slack=slack)
            changes = subscriptions.unsubscribe(grafana, rule, target)
        return {"rule": rule, "changed": changes.changed, **asdict(changes)}

    @app.get("/v1/rules", tags=["alerts"], responses=ERRORS)
    def list_rules(key: ReadKey) -> list[Rule]:
        """The alert rules in effect (workers re-read them within seconds of a change)."""
        return list(_rule_call(rules.current_rules, settings.data_dir, settings.alert_rules_file).rules)

    @app.put("/v1/rules/{rule_id}", tags=["alerts"], responses=ERRORS | {409: {"model": Problem}})
    def put_rule(rule_id: RuleId, rule: Rule, key: AdminKey) -> dict[str, Any]:
        """Add or replace rule ``rule_id`` (the body's ``id`` must match); idempotent."""
        if rule.id != rule_id:
            raise HTTPException(422, f"the body's id {rule.id!r} does not match the path's {rule_id!r}")
        changed = _rule_call(rules.add_rule, rule, settings.data_dir, settings.alert_rules_file, True)
        return {"rule": rule_id, "changed": changed}

    @app.delete("/v1/rules/{rule_id}", tags=["alerts"], responses=ERRORS)
    def delete_rule(rule_id: RuleId, key: AdminKey) -> dict[str, Any]:
        """Remove rule ``rule_id``; removing a rule that does not exist changes nothing."""
        changed = _rule_call(rules.remove_rule, rule_id, settings.data_dir, settings.alert_rules_file)
        return {"rule": rule_id, "changed": changed}

    return app


def _rule_call(function: Callable[..., T], *args: Any) -> T:
    try:
        return function(*args)
    except rules.RuleError as exc:
        raise HTTPException(409, str(exc)) from None


@contextmanager
def _grafana(settings: Settings) -> Iterator[Grafana]:
    """The configured Grafana, with alerts/ errors turned into HTTP answers."""
    if not settings.grafana_url:
        raise HTTPException(503, "FINSENT_GRAFANA_URL is not set on this API server")
    try:
        yield Grafana.from_settings(settings)
    except SubscriptionError as exc:
        raise HTTPException(422, str(exc)) from None
    except GrafanaUnavailable:
        raise HTTPException(503, "Grafana is unreachable; retry later") from None
    except GrafanaAuthError:
        raise HTTPException(502, "Grafana refused this server's token") from None
    except GrafanaError as exc:
        raise HTTPException(502, f"Grafana refused the request: {exc}") from None


def _prediction_fields(prediction: Any) -> dict[str, Any]:
    return {name: getattr(prediction, name) for name in PredictionOut.model_fields}


def _interval_seconds(text: str) -> int:
    try:
        return parse_duration(text, minimum_s=60, maximum_s=86_400)
    except ValueError as exc:
        raise HTTPException(422, f"interval: {exc}") from None


def _time_range(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
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


def _encode_cursor(time_: datetime, doc_id: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([int(time_.timestamp()), doc_id])).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        seconds, doc_id = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromtimestamp(int(seconds), UTC), str(doc_id)
    except (ValueError, TypeError, OverflowError, OSError, orjson.JSONDecodeError):
        raise HTTPException(422, "invalid cursor: pass back the next_cursor of a previous page") from None
