"""Routes: which model reads which documents, written ``KIND[:SOURCE]=MODEL`` (``FINSENT_ROUTES``).

``news=finsent-mpnet,social=finsent-minilm`` sends news to the teacher and social posts to the
student; ``news:reuters=finsent-mpnet`` names one source of a kind. A document takes the route
of its kind and source if there is one, else of its kind, else the default (the served model).
Which model names exist is the loader's to check (``learning.serving``); here only the syntax.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from config.errors import ConfigError

KINDS = ("news", "social")
DEFAULT_MODEL = "default"
"""A route's model written ``default``: the served model (``FINSENT_MODEL`` or the registry's active version)."""
_SOURCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_SYNTAX = "write KIND[:SOURCE]=MODEL, comma-separated (news=finsent-mpnet,social=finsent-minilm)"


@dataclass(frozen=True)
class Route:
    """Documents of ``kind`` (and of ``source``, when given) are read by ``model``."""

    kind: str
    source: str | None
    model: str

    @property
    def name(self) -> str:
        """How stats and metrics name the route: ``news`` or ``news:reuters``."""
        return self.kind if self.source is None else f"{self.kind}:{self.source}"


def parse_routes(text: str) -> tuple[Route, ...]:
    """The routes ``text`` lists (empty or ``none``: no routes); ``ConfigError`` (one line) on bad syntax."""
    if text.strip().lower() in ("", "none"):
        return ()
    routes: dict[str, Route] = {}
    for entry in text.split(","):
        route = _parse_route(entry.strip())
        if route.name in routes:
            raise ConfigError(f"FINSENT_ROUTES: route {route.name!r} is given twice")
        routes[route.name] = route
    return tuple(routes.values())


class RouteTable:
    """Finds a document's route: its kind and source's, else its kind's, else None (the default route)."""

    def __init__(self, routes: Sequence[Route]) -> None:
        self._by_key = {(route.kind, route.source): route for route in routes}

    def route_for(self, kind: str, source: str | None) -> Route | None:
        """The route a document of ``kind`` from ``source`` (None: no source) takes; None for the default."""
        return self._by_key.get((kind, source)) or self._by_key.get((kind, None))


def format_routes(routes: tuple[Route, ...]) -> str:
    """``routes`` written as ``FINSENT_ROUTES`` takes them (``none`` for no routes)."""
    return ",".join(f"{route.name}={route.model}" for route in routes) or "none"


def _parse_route(entry: str) -> Route:
    key, equals, model = (part.strip() for part in entry.partition("="))
    if not equals or not key or not model:
        raise ConfigError(f"FINSENT_ROUTES: {entry!r} is not a route; {_SYNTAX}")
    kind, colon, source = (part.strip() for part in key.partition(":"))
    if kind not in KINDS:
        raise ConfigError(f"FINSENT_ROUTES: unknown document kind {kind!r} in {entry!r} (kinds: {', '.join(KINDS)})")
    if colon and not _SOURCE.match(source):
        raise ConfigError(f"FINSENT_ROUTES: {source!r} in {entry!r} is not a source name (letters, digits, _.-)")
    return Route(kind, source if colon else None, model)
