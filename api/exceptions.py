"""Errors raised by api/."""

from config.errors import FinsentError


class ApiError(FinsentError):
    """Root of every error api/ raises."""

    exit_code = 8


class CannotListen(ApiError):
    """The API cannot listen on its host and port (taken by another process, or not this host's)."""


class UnknownKey(ApiError):
    """No API key has the id given."""


class ClientGone(ApiError):
    """The client disconnected before classification finished; the rest is not computed."""
