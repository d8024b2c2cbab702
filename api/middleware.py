"""The ASGI layer in front of every route: request bodies capped as they arrive, and request metrics.

The cap counts the bytes received, so it holds for ``Transfer-Encoding: chunked`` bodies as well
as for a declared ``Content-Length``, and it is enforced before authentication: a request gets
``max_anonymous_body_bytes`` until it shows a valid key, and ``max_body_bytes`` with one. The body
is then handed to the application whole, and later ``receive`` calls reach the server, so routes
still see the client disconnect (``Request.is_disconnected``).

A pure ASGI middleware rather than ``@app.middleware("http")``: Starlette's ``BaseHTTPMiddleware``
wraps ``receive`` so that ``is_disconnected()`` never reports a client that has gone.
"""

from __future__ import annotations

import logging
import time

import anyio
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import ApiState, verified_key
from api.exceptions import ApiError
from storage import StoreError, StoreUnavailable

log = logging.getLogger(__name__)


class BodyTooLarge(ApiError):
    """The request body is over the cap that applies to it."""


def store_unavailable_response() -> JSONResponse:
    return JSONResponse({"detail": "the store is unavailable; retry shortly"}, 503, headers={"Retry-After": "5"})


def store_error_response() -> JSONResponse:
    return JSONResponse({"detail": "the store could not answer this query"}, 500)


class BoundedRequests:
    """Reads each request body up to its cap (413 beyond), then runs the app; records count and latency."""

    def __init__(self, app: ASGIApp, state: ApiState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._handle(scope, receive, send_recording_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.state.metrics.latency.labels(route).observe(time.perf_counter() - started)
            self.state.metrics.requests.labels(route, scope["method"], str(status)).inc()

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            body = await self._read_body(scope, receive)
        except BodyTooLarge as exc:
            await JSONResponse({"detail": str(exc)}, 413)(scope, receive, send)
            return
        except StoreUnavailable as exc:
            log.warning("store unavailable: %s", exc)
            await store_unavailable_response()(scope, receive, send)
            return
        except StoreError as exc:
            log.error("store error: %s", exc)
            await store_error_response()(scope, receive, send)
            return
        if body is not None:  # None: the client left while sending
            await self.app(scope, _replay(body, receive), send)

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes | None:
        """The whole body, or None if the client disconnected; BodyTooLarge past the cap."""
        cap = self.state.settings.max_anonymous_body_bytes
        key_checked = False  # the key is checked (in a thread: it may query the store) only for bigger bodies
        declared = _content_length(scope)
        if declared is not None and declared > cap:
            cap, key_checked = await self._cap(scope, declared), True
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > cap:
                if key_checked:
                    raise BodyTooLarge(self._over(cap))
                cap, key_checked = await self._cap(scope, size), True
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _cap(self, scope: Scope, size: int) -> int:
        """The cap for this request's body, or BodyTooLarge if ``size`` bytes are already over it."""
        settings = self.state.settings
        address = scope["client"][0] if scope.get("client") else "unknown"
        key = await anyio.to_thread.run_sync(verified_key, self.state, _bearer_token(scope), address)
        cap = settings.max_body_bytes if key is not None else settings.max_anonymous_body_bytes
        if size > cap:
            raise BodyTooLarge(self._over(cap))
        return cap

    def _over(self, cap: int) -> str:
        anonymous = cap < self.state.settings.max_body_bytes
        return f"request body over {cap} bytes" + (" without a valid API key" if anonymous else "")


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` once, then passes on what the server sends (the disconnect)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _content_length(scope: Scope) -> int | None:
    declared = _header(scope, b"content-length")
    return int(declared) if declared and declared.isdigit() else None


def _bearer_token(scope: Scope) -> str | None:
    scheme, _, token = (_header(scope, b"authorization") or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None
