"""``finsent api`` (serve) and ``finsent api-key create|list|revoke``."""

from __future__ import annotations

import json
import socket

import click

from api.exceptions import ApiError, CannotListen, UnknownKey
from api.keys import KeyRing
from finsent.clisupport import initialised_store, settings_for_cli


@click.command("api")
@click.option("--host", default=None, help="default: FINSENT_API_HOST (127.0.0.1)")
@click.option("--port", type=click.IntRange(1, 65_535), default=None, help="default: FINSENT_API_PORT (8000)")
def api(host: str | None, port: int | None) -> None:
    """Serve the HTTP API (OpenAPI at /docs and /openapi.json); keys from `finsent api-key create`."""
    import uvicorn

    from api.app import ClassifierSource, create_app
    from learning.serving import check_route_models, route_model, routes_in_force, serving_models

    settings = settings_for_cli()
    check_route_models(settings.routing, settings.classifier)  # a route to an unknown model stops here, first
    host, port = host or settings.api_host, port or settings.api_port
    listening = listening_socket(host, port)
    with listening, initialised_store(settings) as store:
        store.share()
        source = ClassifierSource(
            lambda: serving_models(store, settings.learning, settings.classifier),
            routes_in_force(settings.routing, settings.classifier),
            lambda name, served: route_model(name, settings.classifier, served),
        )
        app = create_app(settings.api, store, source)
        config = uvicorn.Config(app, host=host, port=port, log_level=settings.log_level.lower(), server_header=False)
        server = uvicorn.Server(config)
        server.run(sockets=[listening])
        if not server.started:
            raise ApiError("the API did not start: see the log above")


def listening_socket(host: str, port: int) -> socket.socket:
    """The API's socket, bound before anything else starts, so a taken port fails at once with its own exit code."""
    listening = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
    except OSError as exc:
        listening.close()
        reason = exc.strerror or str(exc)
        raise CannotListen(f"cannot listen on {host}:{port}: {reason}; stop what holds it or pass --port") from exc
    return listening


@click.group("api-key")
def api_key() -> None:
    """API keys for `finsent api` (only a salted hash is stored; the key is shown once)."""


@api_key.command("create")
@click.argument("name")
@click.option("--scope", type=click.Choice(["read", "write", "admin"]), default="read", show_default=True)
def create(name: str, scope: str) -> None:
    """Create a key named NAME and print it (once): give it as `Authorization: Bearer <key>`."""
    with initialised_store(settings_for_cli()) as store:
        row, token = KeyRing(store).create(name, scope)  # type: ignore[arg-type]
    click.echo(json.dumps({"key_id": row.key_id, "name": name, "scope": scope, "key": token}))
    click.echo("store this key now: it cannot be shown again", err=True)


@api_key.command("list")
def list_keys() -> None:
    """Every key: id, name, scope, created, revoked (never the key itself)."""
    with initialised_store(settings_for_cli()) as store:
        for row in KeyRing(store).list():
            state = "revoked" if row.revoked else "active"
            click.echo(f"{row.key_id}\t{row.name}\t{row.scope}\t{row.created_at:%Y-%m-%d %H:%M}Z\t{state}")


@api_key.command("revoke")
@click.argument("key_id")
def revoke(key_id: str) -> None:
    """Revoke KEY_ID (API processes stop accepting it within FINSENT_API_KEY_CACHE_S); an unknown id fails."""
    with initialised_store(settings_for_cli()) as store:
        keys = KeyRing(store)
        if all(row.key_id != key_id for row in keys.list()):
            raise UnknownKey(f"no API key {key_id!r}: see `finsent api-key list`")
        changed = keys.revoke(key_id)
    click.echo(json.dumps({"key_id": key_id, "changed": changed}))
