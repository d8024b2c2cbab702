"""Errors raised by storage/."""

from config.errors import FinsentError


class StoreError(FinsentError):
    """Root of every error storage/ raises."""

    exit_code = 3


class StoreUnavailable(StoreError):
    """A transient failure (server down, network error, timeout): retry with backoff."""


class StoreConfigError(StoreError, ValueError):
    """A store URL or option is malformed or unsupported."""

    exit_code = 2
