"""Errors raised by ingest/."""

from config.errors import FinsentError


class IngestError(FinsentError, ValueError):
    """A feed file, format or generator setting that cannot be used as given (a usage error, exit status 2)."""

    exit_code = 2
