"""What every command of the ``finsent`` CLI shares."""

from __future__ import annotations

import click

from config import Settings


def settings_for_cli() -> Settings:
    """``Settings()``, with a configuration error turned into a click usage error (exit status 2)."""
    try:
        return Settings()
    except ValueError as exc:
        raise click.UsageError(f"invalid configuration: {exc}") from exc
