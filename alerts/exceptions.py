"""Errors raised by alerts/."""

from config.errors import FinsentError


class AlertsError(FinsentError):
    """Root of every error alerts/ raises."""

    exit_code = 5


class GrafanaError(AlertsError):
    """Grafana answered, or failed to answer, in a way finsent cannot use."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class GrafanaUnavailable(GrafanaError):
    """Grafana cannot be reached, timed out, or answered 5xx/429: retry later, with backoff."""


class GrafanaAuthError(GrafanaError):
    """Grafana refused the token (401/403): fix FINSENT_GRAFANA_TOKEN; retrying as is will not help."""


class GrafanaRejected(GrafanaError):
    """Grafana refused this request for good (400, 404, 409, 413, 422, ...): the same request will fail again."""


class GrafanaNotConfigured(AlertsError):
    """FINSENT_GRAFANA_URL is not set."""


class SubscriptionError(AlertsError, ValueError):
    """A subscription request is malformed (no target, two targets, an empty rule id, ...)."""
