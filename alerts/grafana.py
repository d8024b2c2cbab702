"""``Grafana``: the few Grafana HTTP calls finsent makes, through grafana-client, with errors mapped.

Every call raises one of ``alerts.exceptions``: ``GrafanaUnavailable`` (connection refused,
timeout, 5xx, 429: retry later), ``GrafanaAuthError`` (401/403) or ``GrafanaRejected`` (other
4xx: the same request will fail again). The token is never logged nor put into a message.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import niquests
from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException, GrafanaServerError, GrafanaTimeoutError

from alerts.exceptions import GrafanaAuthError, GrafanaNotConfigured, GrafanaRejected, GrafanaUnavailable
from schemas.alerts import AlertRecord

if TYPE_CHECKING:
    from config.components import GrafanaSettings

T = TypeVar("T")

TEXT_HEADLINES = 5
"""How many of an alert's headlines go into its annotation text."""
HEADLINE_CHARS = 240
_RETRYABLE_4XX = frozenset({408, 425, 429})
_OS_ERROR = re.compile(r"\[Errno -?\d+\][^'\"()]*")


def alert_tag(alert_id: str) -> str:
    """The annotation tag that identifies one alert (used to find it again)."""
    return f"alert:{alert_id}"


def annotation_tags(alert: AlertRecord) -> list[str]:
    """``finsent``, rule, symbol or topic (none for scope 'all'), severity, and the alert's own tag."""
    tags = ["finsent", f"rule:{alert.rule_id}"]
    if alert.scope != "all":
        tags.append(f"{alert.scope}:{alert.scope_key}")
    tags += [f"severity:{alert.severity}", alert_tag(alert.alert_id)]
    return tags


def annotation_text(alert: AlertRecord) -> str:
    """What crossed which threshold over which window, then the top headlines.

    Grafana renders annotation text as (sanitised) HTML: every part is escaped, lines end in ``<br>``.
    """
    subject = f" {alert.scope} {alert.scope_key}" if alert.scope != "all" else ""
    lines = [
        f"[{alert.severity}] rule {alert.rule_id}{subject}: {alert.metric} = {alert.value:.4g} "
        f"{alert.comparison} threshold {alert.threshold:.4g} over {format_window(alert.window_s)} "
        f"({alert.doc_count} documents)"
    ]
    if alert.headlines:
        lines.append("Top headlines:")
        lines += [f"• {_clip(headline)}" for headline in alert.headlines[:TEXT_HEADLINES]]
    return "<br>\n".join(html.escape(line, quote=False) for line in lines)


def format_window(seconds: int) -> str:
    """``300`` → ``5m``, ``7200`` → ``2h``, ``90`` → ``90s``."""
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class Grafana:
    """One Grafana instance, reached through ``grafana_client.GrafanaApi`` (synchronous; one caller at a time)."""

    def __init__(self, url: str, token: str | None = None, *, timeout_s: float = 5.0, verify_tls: bool = True) -> None:
        self.url = public_url(url)
        self._token = token
        self.api = GrafanaApi.from_url(_api_base(url), credential=token, timeout=timeout_s)
        # from_url has no ``verify`` argument (only a ``?verify=false`` URL parameter): set it on the client.
        self.api.client.verify = verify_tls

    @classmethod
    def from_settings(cls, settings: GrafanaSettings) -> Grafana:
        """The Grafana that ``FINSENT_GRAFANA_*`` name; GrafanaNotConfigured when the URL is unset."""
        if not settings.url:
            raise GrafanaNotConfigured("FINSENT_GRAFANA_URL is not set: there is no Grafana to talk to")
        token = settings.token.get_secret_value() if settings.token else None
        return cls(settings.url, token, timeout_s=settings.timeout_s, verify_tls=settings.verify_tls)

    def __repr__(self) -> str:
        return f"<Grafana {self.url}>"

    def version(self) -> str:
        """Grafana's version (from ``/api/frontend/settings``); also a cheap reachability check."""
        info = self._call("read the build info", self.api.health.check)
        return str((info or {}).get("version", "unknown"))

    # Annotations -------------------------------------------------------------------------

    def post_annotation(self, alert: AlertRecord) -> int:
        """Create the annotation of ``alert`` (organisation-wide, at ``fired_at``); its id.

        ``annotations.add_annotation`` would send ``panelId``/``timeEnd`` as ``null``, which the
        published API schema does not allow, so the payload goes through the client directly.
        """
        payload = {
            "time": int(alert.fired_at.timestamp() * 1000),
            "tags": annotation_tags(alert),
            "text": annotation_text(alert),
        }
        answer = self._call("post an annotation", self.api.client.POST, "/annotations", json=payload)
        if not isinstance(answer, dict) or not isinstance(answer.get("id"), int):
            raise GrafanaUnavailable(f"Grafana at {self.url} answered an annotation post with {str(answer)[:200]!r}")
        return int(answer["id"])

    def find_annotation(self, alert_id: str) -> int | None:
        """The id of the annotation already posted for ``alert_id`` (the lowest, if several), or None."""
        tag = alert_tag(alert_id)
        found = self._call(
            "find an annotation",
            self.api.annotations.find_annotations,
            tags=[tag],
            ann_type="annotation",
            limit=10,
        )
        ids = [item["id"] for item in found or [] if isinstance(item, dict) and tag in (item.get("tags") or [])]
        return min(ids) if ids else None

    # Folders and alerting provisioning ---------------------------------------------------

    def folder(self, uid: str) -> dict[str, Any] | None:
        """The folder ``uid``, or None if it does not exist."""
        return self._unless_missing("read a folder", self.api.folder.get_folder, uid)

    def create_folder(self, uid: str, title: str) -> dict[str, Any]:
        """Create folder ``uid`` named ``title``."""
        return self._call("create a folder", self.api.folder.create_folder, title, uid=uid)

    def contact_points(self) -> list[dict[str, Any]]:
        """Every contact point (secure settings come back redacted)."""
        return list(self._call("list contact points", self.api.alertingprovisioning.get_contactpoints) or [])

    def create_contact_point(self, contact_point: dict[str, Any]) -> dict[str, Any]:
        """Create one contact point, editable in the UI afterwards."""
        provisioning = self.api.alertingprovisioning
        return self._call("create a contact point", provisioning.create_contactpoint, contact_point, True)

    def delete_contact_point(self, uid: str) -> None:
        """Delete contact point ``uid``; one that does not exist is no error."""
        self._unless_missing("delete a contact point", self.api.alertingprovisioning.delete_contactpoint, uid)

    def policy_tree(self) -> dict[str, Any]:
        """The whole notification policy tree."""
        return self._call("read the notification policies", self.api.alertingprovisioning.get_notification_policy_tree)

    def set_policy_tree(self, tree: dict[str, Any]) -> None:
        """Replace the whole notification policy tree with ``tree``."""
        provisioning = self.api.alertingprovisioning
        self._call("write the notification policies", provisioning.set_notification_policy_tree, tree, True)

    def alert_rule(self, uid: str) -> dict[str, Any] | None:
        """The Grafana-managed alert rule ``uid``, or None if it does not exist."""
        return self._unless_missing("read an alert rule", self.api.alertingprovisioning.get_alertrule, uid)

    def alert_rules(self) -> list[dict[str, Any]]:
        """Every Grafana-managed alert rule."""
        return list(self._call("list alert rules", self.api.alertingprovisioning.get_alertrules_all) or [])

    def create_alert_rule(self, rule: dict[str, Any]) -> dict[str, Any]:
        """Create an alert rule, editable in the UI afterwards."""
        return self._call("create an alert rule", self.api.alertingprovisioning.create_alertrule, rule, True)

    def update_alert_rule(self, uid: str, rule: dict[str, Any]) -> dict[str, Any]:
        """Replace alert rule ``uid`` with ``rule``."""
        provisioning = self.api.alertingprovisioning
        return self._call("update an alert rule", provisioning.update_alertrule, uid, rule, True)

    def delete_alert_rule(self, uid: str) -> None:
        """Delete alert rule ``uid``; one that does not exist is no error."""
        self._unless_missing("delete an alert rule", self.api.alertingprovisioning.delete_alertrule, uid)

    # Error mapping -----------------------------------------------------------------------

    def _call(self, action: str, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return method(*args, **kwargs)
        except (GrafanaException, niquests.exceptions.RequestException, OSError) as exc:
            raise self._translate(action, exc) from None

    def _unless_missing(self, action: str, method: Callable[..., Any], *args: Any) -> Any:
        """``method(*args)``, or None when Grafana answers 404."""
        try:
            return self._call(action, method, *args)
        except GrafanaRejected as exc:
            if exc.status_code == 404:
                return None
            raise

    def _translate(self, action: str, exc: Exception) -> Exception:
        status = getattr(exc, "status_code", None) or None
        message = self._scrub(f"Grafana at {self.url}: cannot {action}: {_describe(exc)}")
        if isinstance(exc, GrafanaTimeoutError | GrafanaServerError) or status in _RETRYABLE_4XX:
            return GrafanaUnavailable(message, status)
        if isinstance(exc, GrafanaClientError) and status in (401, 403):
            return GrafanaAuthError(message, status)
        if isinstance(exc, GrafanaClientError):
            return GrafanaRejected(message, status)
        # Connection refused/reset, DNS, TLS: grafana-client lets niquests' ConnectionError through.
        return GrafanaUnavailable(message, status)

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text


def public_url(url: str) -> str:
    """``url`` without user name and password (safe to log)."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _api_base(url: str) -> str:
    # grafana-client builds "<scheme>://<host>/<path>api": without a trailing slash a sub-path
    # like /grafana would become /grafanaapi.
    parts = urlsplit(url)
    path = parts.path if not parts.path or parts.path.endswith("/") else parts.path + "/"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _describe(exc: Exception) -> str:
    text = str(getattr(exc, "message", None) or exc).strip()
    reason = _OS_ERROR.search(text)
    if isinstance(exc, niquests.exceptions.ConnectionError) and reason:
        return f"cannot connect ({reason.group(0).strip()})"
    first_line = text.splitlines()[0][:300] if text else ""
    return f"{type(exc).__name__}: {first_line}" if first_line else type(exc).__name__


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= HEADLINE_CHARS else text[: HEADLINE_CHARS - 1] + "…"
