"""Errors raised by storage/."""


class StoreError(Exception):
    """Root of every error storage/ raises."""


class StoreUnavailable(StoreError):
    """A transient failure (server down, network error, timeout): retry with backoff."""


class StoreConfigError(StoreError, ValueError):
    """A store URL or option is malformed or unsupported."""
