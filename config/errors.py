"""``FinsentError``: the root of every error finsent raises on purpose.

Each package's own root (``ModelError``, ``StoreError``, ``AlertsError``, ``StreamError``)
derives from it and names an exit status, so the CLI can turn any of them into one line and a
distinct exit code instead of a traceback.
"""

from __future__ import annotations


class FinsentError(Exception):
    """An expected failure with a message meant for the person running finsent."""

    exit_code = 1


class ConfigError(FinsentError, ValueError):
    """The configuration (environment, secrets files, options) is invalid."""

    exit_code = 2
