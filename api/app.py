"""The FastAPI application behind ``finsent api``: state, middleware and error handlers; routes live in ``api.routers``.

Every route but ``/healthz`` and ``/metrics`` needs a bearer API key (``finsent api-key create``):
read for queries and classification, write for subscriptions, admin for alert rules. Each key
has its own rate limit. Every SQL statement is parameterized (``storage.queries``).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline

from api.deps import ApiMetrics, ApiState, ClassifierSource
from api.keys import KeyRing
from api.limits import RateLimiter
from api.middleware import BoundedRequests, store_error_response, store_unavailable_response
from api.routers import alerts, classify, history, labels, ops, rules, stories
from config.components import ApiSettings
from storage import Store, StoreError, StoreUnavailable

log = logging.getLogger(__name__)

__all__ = ["ClassifierSource", "create_app"]


def create_app(settings: ApiSettings, store: Store, classifier: ClassifierSource) -> FastAPI:
    """The API over ``store``; ``classifier`` is loaded on the first classify request."""
    # Swagger UI and ReDoc come from the fastapi-offline package, not a CDN: /docs works offline.
    app = FastAPIOffline(
        title="finsent API",
        version="1",
        summary="Financial sentiment history, ad-hoc classification and alerts.",
    )
    state = ApiState(
        settings=settings,
        store=store,
        classifier=classifier,
        keys=KeyRing(store, cache_s=settings.key_cache_s),
        limiter=RateLimiter(settings.rate_limit_per_min),
        tokens=RateLimiter(settings.key_tokens_per_min),
        auth_failures=RateLimiter(settings.auth_failures_per_min),
        metrics=ApiMetrics.create(),
    )
    app.state.finsent = state
    for module in (ops, classify, history, labels, alerts, rules, stories):
        app.include_router(module.router)

    app.add_middleware(BoundedRequests, state=state)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # The offending input is not echoed: it may be huge, or a NaN or lone surrogate JSON cannot carry.
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        return JSONResponse({"detail": errors}, 422)

    @app.exception_handler(StoreUnavailable)
    async def store_down(request: Request, exc: StoreUnavailable) -> JSONResponse:
        log.warning("store unavailable: %s", exc)
        return store_unavailable_response()

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError) -> JSONResponse:
        log.error("store error: %s", exc)
        return store_error_response()

    return app
