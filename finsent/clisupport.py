"""What every command of the ``finsent`` CLI shares."""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from config import Settings
from config.errors import FinsentError
from storage import Store, open_store


class OneLineError(click.ClickException):
    """A ``FinsentError`` as the CLI shows it: ``Error: <first line>``, with the error's exit code.

    ``message`` replaces the error's own text where the command knows a better hint; the exit
    code stays the error's, so every failure of a kind exits the same way.
    """

    def __init__(self, error: FinsentError, message: str | None = None):
        lines = (str(error) if message is None else message).strip().splitlines()
        super().__init__(lines[0] if lines else type(error).__name__)
        self.exit_code = error.exit_code


class FinsentGroup(click.Group):
    """A command group whose commands end in one line, not a traceback, on any ``FinsentError``.

    ``--verbose`` (or ``FINSENT_LOG_LEVEL=DEBUG``) prints the traceback as well.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FinsentError as error:
            if verbose(ctx):
                click.echo(traceback.format_exc(), err=True)
            raise OneLineError(error) from error


def verbose(ctx: click.Context | None = None) -> bool:
    """Whether tracebacks are wanted: ``--verbose``, ``FINSENT_LOG_LEVEL=DEBUG`` or a DEBUG root logger."""
    root = ctx.find_root() if ctx is not None else None
    flagged = bool(root is not None and root.params.get("verbose"))
    return flagged or os.environ.get("FINSENT_LOG_LEVEL", "").upper() == "DEBUG" or logging.getLogger().level == 10


def setup_logging(level: str) -> None:
    """Log to stderr at ``level``, with the chatty client libraries held at WARNING or above."""
    logging.basicConfig(
        level=level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("aiokafka", "kafka", "faust", "mode", "httpx", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


def emit_json(payload: object, fmt: str = "json") -> None:
    """``payload`` as one JSON line (``json``) or indented (``pretty``)."""
    click.echo(json.dumps(payload, indent=2 if fmt == "pretty" else None, default=str))


def settings_for_cli() -> Settings:
    """``Settings()``, with a configuration error turned into a click usage error (exit status 2)."""
    try:
        return Settings()
    except ValueError as exc:
        raise click.UsageError(f"invalid configuration: {exc}") from exc


FORMAT = click.option(
    "--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True
)
"""How ``query``-like commands print rows: a terminal table, CSV with a header, or one JSON array."""

DATA_ROOT = click.option(
    "--data-root",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="FINSENT_TRAINING_DATA",
    default=None,
    help="folder holding the labelled corpora (see docs/models.md) [FINSENT_TRAINING_DATA]",
)
"""Where the labelled corpora live, for the commands that train, evaluate or benchmark on them."""


def existing_store(settings: Settings | None = None) -> Store:
    """The configured store, for commands that read: a mistyped data dir is an error, not a new empty store."""
    return open_store((settings or settings_for_cli()).resolved_store_url, create=False)


@contextmanager
def initialised_store(settings: Settings) -> Iterator[Store]:
    """The configured store with its tables created, for commands that write (keys, labels, the registry)."""
    with open_store(settings.resolved_store_url) as store:
        store.init_schema()
        yield store
