"""FINSENT_ROUTES: the syntax, one-line errors, and the slice the worker reads."""

from __future__ import annotations

import pytest

from config import Settings
from config.errors import ConfigError
from config.routes import Route, format_routes, parse_routes


def test_routes_by_kind_and_by_kind_and_source() -> None:
    assert parse_routes(" news=finsent-mpnet, social=finsent-minilm ,news:reuters=/models/x ") == (
        Route("news", None, "finsent-mpnet"),
        Route("social", None, "finsent-minilm"),
        Route("news", "reuters", "/models/x"),
    )
    assert [route.name for route in parse_routes("news:reuters=default,social=default")] == ["news:reuters", "social"]


@pytest.mark.parametrize("text", ["", "  ", "none", "NONE"])
def test_empty_or_none_means_no_routes(text: str) -> None:
    assert parse_routes(text) == ()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("news", "'news' is not a route; write KIND[:SOURCE]=MODEL"),
        ("news=", "'news=' is not a route"),
        ("=finsent-mpnet", "is not a route"),
        ("news=finsent-mpnet,", "'' is not a route"),
        ("blogs=finsent-mpnet", "unknown document kind 'blogs'"),
        ("news:reu ters=finsent-mpnet", "'reu ters' in 'news:reu ters=finsent-mpnet' is not a source name"),
        ("news:=finsent-mpnet", "'' in 'news:=finsent-mpnet' is not a source name"),
        ("news=a,news=b", "route 'news' is given twice"),
    ],
)
def test_bad_routes_are_one_line_errors(text: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_routes(text)
    message = str(caught.value)
    assert says in message and message.startswith("FINSENT_ROUTES: ") and "\n" not in message


def test_the_routing_slice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINSENT_ROUTES", "news=finsent-mpnet")
    monkeypatch.setenv("FINSENT_ROUTE_FALLBACK", "finsent-minilm")
    monkeypatch.setenv("FINSENT_ROUTE_BACKLOG_S", "60")
    monkeypatch.setenv("FINSENT_ROUTE_RECOVER_S", "15")
    routing = Settings().routing
    assert routing.routes == (Route("news", None, "finsent-mpnet"),)
    assert (routing.fallback, routing.backlog_s, routing.recover_s) == ("finsent-minilm", 60.0, 15.0)
    monkeypatch.delenv("FINSENT_ROUTES")
    assert Settings().routing.routes is None  # unset: the loader's defaults
    monkeypatch.setenv("FINSENT_ROUTES", "")
    assert Settings().routing.routes is None  # empty (compose's ${FINSENT_ROUTES:-}) is unset too
    monkeypatch.setenv("FINSENT_ROUTES", "none")
    assert Settings().routing.routes == ()


def test_a_malformed_route_fails_when_read_and_recovery_must_sit_below_the_backlog() -> None:
    with pytest.raises(ConfigError, match="unknown document kind"):
        _ = Settings(routes="tweets=finsent-minilm").routing
    with pytest.raises(ValueError, match="FINSENT_ROUTE_RECOVER_S must be below FINSENT_ROUTE_BACKLOG_S"):
        Settings(route_backlog_s=10, route_recover_s=10)


def test_routes_are_written_back_as_they_are_read() -> None:
    text = "news=finsent-mpnet,news:reuters=default,social=finsent-minilm"
    assert format_routes(parse_routes(text)) == text
    assert format_routes(()) == "none" and parse_routes("none") == ()
