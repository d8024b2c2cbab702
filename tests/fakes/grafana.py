"""An in-process fake Grafana: the HTTP endpoints finsent uses, in memory, every request checked.

``FakeGrafana`` serves on ``127.0.0.1`` (a free port) from a thread. It implements annotations
(POST, GET by tags), folders, alerting provisioning (contact points, the policy tree, alert
rules), ``/api/health`` and ``/api/frontend/settings``, with Grafana's answers and the checks
Grafana makes that matter here (a policy may only name existing contact points, a contact
point in use cannot be deleted, an alert rule needs an existing folder and data source).

Every request is recorded (``requests``) and checked against the OpenAPI spec (see
``tests.fakes.openapi``; skipped when the spec file is absent). A request that does not fit is
answered 400 and added to ``violations``: tests assert ``fake.violations == []``.

Failure modes: ``down()`` refuses connections (``down(503)`` answers 503 instead), ``up()``
restores service, ``slow(seconds)`` delays every answer (the request still takes effect, as a
slow Grafana's would, after the client may have given up).
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.openapi import SPEC_PATH, OpenApiSpec

TOKEN = "fake-grafana-token"
VERSION = "11.3.0"
DEFAULT_RECEIVER = "grafana-default-email"
SECURE_SETTINGS = {"slack": ("url", "token"), "webhook": ("password", "authorization_credentials")}
Answer = tuple[int, Any]


@dataclass
class Recorded:
    """One request the fake received, and the status it answered."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    status: int = 0
    violations: list[str] = field(default_factory=list)


class FakeGrafana:
    """A fake Grafana server; use as a context manager or call ``start()``/``stop()``."""

    def __init__(self, *, token: str | None = TOKEN, spec: OpenApiSpec | bool | None = True) -> None:
        self.token = token
        self.spec: OpenApiSpec | None = OpenApiSpec.load(SPEC_PATH) if spec is True else (spec or None)
        self.requests: list[Recorded] = []
        self.violations: list[str] = []
        self.annotations: list[dict[str, Any]] = []
        self.folders: dict[str, dict[str, Any]] = {}
        self.contact_points: dict[str, dict[str, Any]] = {
            "default-email": {
                "uid": "default-email",
                "name": DEFAULT_RECEIVER,
                "type": "email",
                "settings": {"addresses": "<example@email.com>"},
                "disableResolveMessage": False,
            }
        }
        self.policy_tree: dict[str, Any] = {"receiver": DEFAULT_RECEIVER, "group_by": ["grafana_folder", "alertname"]}
        self.alert_rules: dict[str, dict[str, Any]] = {}
        self.datasources = {"finsent-clickhouse"}
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._delay_s = 0.0
        self._slow_method: str | None = None
        self._status_when_down: int | None = None
        self._refusing = False
        self._connections: set[socket.socket] = set()
        self._in_flight = 0
        self._idle = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self._routes = _routes(self)

    # Lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeGrafana:
        """Listen on 127.0.0.1 (a free port the first time, the same port after ``up()``)."""
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
        server.daemon_threads = True
        server.fake = self  # type: ignore[attr-defined]
        self._server, self.port = server, server.server_address[1]
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening and drop every open connection."""
        self._refusing = True
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            for connection in list(self._connections):
                _drop(connection)

    def __enter__(self) -> FakeGrafana:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    # Failure modes --------------------------------------------------------------------------

    def down(self, status: int | None = None) -> None:
        """Refuse connections (``status=None``) or answer every request with ``status`` (e.g. 503)."""
        if status is None:
            self.stop()
        else:
            self._status_when_down = status

    def up(self) -> None:
        """Serve normally again (same port), at full speed."""
        self._status_when_down = None
        self._delay_s = 0.0
        if self._server is None:
            self._refusing = False
            self.start()

    def slow(self, seconds: float, method: str | None = None) -> None:
        """Wait ``seconds`` before handling each request (or each ``method`` request); 0: no delay."""
        self._delay_s, self._slow_method = seconds, method

    def wait_idle(self, timeout_s: float = 5.0, seen: int = 0, method: str | None = None) -> None:
        """Block until ``seen`` (``method``) requests have arrived and none is being handled.

        Slow requests finish after their clients time out; ``seen`` covers a request the client
        sent and gave up on before the server thread even started on it.
        """

        def settled() -> bool:
            arrived = sum(1 for r in self.requests if method in (None, r.method))
            return arrived >= seen and self._in_flight == 0

        with self._idle:
            if not self._idle.wait_for(settled, timeout_s):
                raise TimeoutError("the fake Grafana is still handling requests")

    # Inspection -----------------------------------------------------------------------------

    def calls(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        """Recorded requests, optionally only those with ``method`` and a path starting with ``path``."""
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method) and (path is None or r.path.startswith(path))
            ]

    def annotations_tagged(self, tag: str) -> list[dict[str, Any]]:
        """Stored annotations carrying ``tag``."""
        with self._lock:
            return [a for a in self.annotations if tag in a["tags"]]

    # Request handling -----------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], raw_body: bytes) -> Answer:
        """Record, check and answer one request."""
        parts = urlsplit(target)
        query = parse_qs(parts.query, keep_blank_values=True)
        headers = {name.title(): value for name, value in headers.items()}
        record = Recorded(method, parts.path, query, headers, _json_or_raw(raw_body))
        with self._idle:
            self._in_flight += 1
            self.requests.append(record)
        try:
            if self._delay_s and self._slow_method in (None, method):
                time.sleep(self._delay_s)
            status, payload = self._answer(record, raw_body)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()
        record.status = status
        return status, payload

    def _answer(self, record: Recorded, raw_body: bytes) -> Answer:
        if self.spec is not None:
            record.violations = self.spec.check(record.method, record.path, record.query, record.headers, raw_body)
        with self._lock:
            self.violations += record.violations
            if self._status_when_down is not None:
                return self._status_when_down, {"message": "Grafana is unavailable (fake outage)"}
            if self.token is not None and record.headers.get("Authorization") != f"Bearer {self.token}":
                return 401, {"message": "Unauthorized"}
            if record.violations:
                return 400, {"message": "bad request: " + "; ".join(record.violations)}
            if record.method in ("POST", "PUT") and not isinstance(record.body, dict):
                return 400, {"message": "bad request data"}
            for method, pattern, handler in self._routes:
                match = pattern.fullmatch(record.path)
                if method == record.method and match:
                    return handler(record, *match.groups())
            return 404, {"message": "Not found"}

    def connection_opened(self, connection: socket.socket) -> bool:
        """Track a client connection; False (drop it) while refusing connections."""
        with self._lock:
            if self._refusing:
                return False
            self._connections.add(connection)
            return True

    def connection_closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    @property
    def refusing(self) -> bool:
        """Whether the fake is down in 'refuse connections' mode."""
        return self._refusing

    def next_id(self) -> int:
        return next(self._ids)


def _routes(fake: FakeGrafana) -> list[tuple[str, re.Pattern[str], Callable[..., Answer]]]:
    api = _Endpoints(fake)
    provisioning = "/api/v1/provisioning"
    table = [
        ("GET", "/api/health", api.health),
        ("GET", "/api/frontend/settings", api.frontend_settings),
        ("POST", "/api/annotations", api.post_annotation),
        ("GET", "/api/annotations", api.find_annotations),
        ("GET", "/api/folders/([^/]+)", api.get_folder),
        ("POST", "/api/folders", api.create_folder),
        ("GET", f"{provisioning}/contact-points", api.get_contact_points),
        ("POST", f"{provisioning}/contact-points", api.create_contact_point),
        ("PUT", f"{provisioning}/contact-points/([^/]+)", api.update_contact_point),
        ("DELETE", f"{provisioning}/contact-points/([^/]+)", api.delete_contact_point),
        ("GET", f"{provisioning}/policies", api.get_policies),
        ("PUT", f"{provisioning}/policies", api.put_policies),
        ("GET", f"{provisioning}/alert-rules", api.get_alert_rules),
        ("GET", f"{provisioning}/alert-rules/([^/]+)", api.get_alert_rule),
        ("POST", f"{provisioning}/alert-rules", api.create_alert_rule),
        ("PUT", f"{provisioning}/alert-rules/([^/]+)", api.update_alert_rule),
        ("DELETE", f"{provisioning}/alert-rules/([^/]+)", api.delete_alert_rule),
    ]
    return [(method, re.compile(path), handler) for method, path, handler in table]


class _Endpoints:
    """Grafana's behaviour per endpoint, on the fake's in-memory state (called under its lock)."""

    def __init__(self, fake: FakeGrafana) -> None:
        self.fake = fake

    def health(self, request: Recorded) -> Answer:
        return 200, {"commit": "fake", "database": "ok", "version": VERSION}

    def frontend_settings(self, request: Recorded) -> Answer:
        return 200, {"buildInfo": {"version": VERSION, "commit": "fake", "edition": "Open Source"}}

    def post_annotation(self, request: Recorded) -> Answer:
        body = request.body
        if not body.get("text"):
            return 400, {"message": "text field should not be empty"}
        now_ms = int(time.time() * 1000)
        annotation = {
            "id": self.fake.next_id(),
            "alertId": 0,
            "dashboardUID": body.get("dashboardUID", ""),
            "panelId": body.get("panelId", 0),
            "time": body.get("time") or now_ms,
            "timeEnd": body.get("timeEnd") or body.get("time") or now_ms,
            "tags": list(body.get("tags") or []),
            "text": body["text"],
            "type": "annotation",
        }
        self.fake.annotations.append(annotation)
        return 200, {"id": annotation["id"], "message": "Annotation added"}

    def find_annotations(self, request: Recorded) -> Answer:
        tags = request.query.get("tags", [])
        limit = int(request.query.get("limit", ["100"])[0])
        found = [a for a in self.fake.annotations if all(tag in a["tags"] for tag in tags)]
        if request.query.get("type") == ["alert"]:
            found = []
        found.sort(key=lambda a: (-a["time"], -a["id"]))
        return 200, copy.deepcopy(found[:limit])

    def get_folder(self, request: Recorded, uid: str) -> Answer:
        folder = self.fake.folders.get(uid)
        return (200, folder) if folder else (404, {"message": "folder not found", "status": "not-found"})

    def create_folder(self, request: Recorded) -> Answer:
        body = request.body
        uid = body.get("uid") or f"f{self.fake.next_id()}"
        if uid in self.fake.folders:
            return 409, {"message": "a folder with the same uid already exists"}
        folder = {"id": self.fake.next_id(), "uid": uid, "title": body.get("title", uid), "url": f"/dashboards/f/{uid}"}
        self.fake.folders[uid] = folder
        return 200, folder

    def get_contact_points(self, request: Recorded) -> Answer:
        names = request.query.get("name")
        points = [p for p in self.fake.contact_points.values() if not names or p["name"] in names]
        return 200, [_redacted(point) for point in points]

    def create_contact_point(self, request: Recorded) -> Answer:
        point = copy.deepcopy(request.body)
        point.setdefault("uid", f"cp{self.fake.next_id()}")
        if point["uid"] in self.fake.contact_points:
            return 400, {"message": f"contact point with uid {point['uid']!r} already exists"}
        if point["type"] == "email" and not point["settings"].get("addresses"):
            return 400, {"message": "invalid settings: could not find addresses in settings"}
        if point["type"] in ("webhook", "slack") and not point["settings"].get("url"):
            return 400, {"message": "invalid settings: url must be specified"}
        point["provenance"] = "" if _no_provenance(request) else "api"
        self.fake.contact_points[point["uid"]] = point
        return 202, _redacted(point)

    def update_contact_point(self, request: Recorded, uid: str) -> Answer:
        if uid not in self.fake.contact_points:
            return 404, {"message": "contact point not found"}
        self.fake.contact_points[uid] = {**copy.deepcopy(request.body), "uid": uid}
        return 202, {"message": "contactpoint updated"}

    def delete_contact_point(self, request: Recorded, uid: str) -> Answer:
        point = self.fake.contact_points.get(uid)
        if point is not None:
            others = [p for p in self.fake.contact_points.values() if p["name"] == point["name"] and p is not point]
            if not others and point["name"] in _receivers(self.fake.policy_tree):
                return 409, {"message": f"contact point {point['name']!r} is used by a notification policy"}
            del self.fake.contact_points[uid]
        return 204, None

    def get_policies(self, request: Recorded) -> Answer:
        return 200, copy.deepcopy(self.fake.policy_tree)

    def put_policies(self, request: Recorded) -> Answer:
        tree = request.body
        if not tree.get("receiver"):
            return 400, {"message": "invalid object specification: root route must specify a default receiver"}
        names = {point["name"] for point in self.fake.contact_points.values()}
        missing = sorted(_receivers(tree) - names)
        if missing:
            return 400, {"message": f"invalid object specification: receiver {missing[0]!r} does not exist"}
        self.fake.policy_tree = copy.deepcopy(tree)
        return 202, {"message": "policies updated"}

    def get_alert_rules(self, request: Recorded) -> Answer:
        return 200, copy.deepcopy(list(self.fake.alert_rules.values()))

    def get_alert_rule(self, request: Recorded, uid: str) -> Answer:
        rule = self.fake.alert_rules.get(uid)
        return (200, copy.deepcopy(rule)) if rule else (404, {"message": "could not find alert rule"})

    def create_alert_rule(self, request: Recorded) -> Answer:
        rule = copy.deepcopy(request.body)
        rule.setdefault("uid", f"rule{self.fake.next_id()}")
        if rule["uid"] in self.fake.alert_rules:
            return 409, {"message": f"alert rule with uid {rule['uid']!r} already exists"}
        return self._store_rule(request, rule, 201)

    def update_alert_rule(self, request: Recorded, uid: str) -> Answer:
        if uid not in self.fake.alert_rules:
            return 404, {"message": "could not find alert rule"}
        return self._store_rule(request, {**copy.deepcopy(request.body), "uid": uid}, 200)

    def delete_alert_rule(self, request: Recorded, uid: str) -> Answer:
        self.fake.alert_rules.pop(uid, None)
        return 204, None

    def _store_rule(self, request: Recorded, rule: dict[str, Any], status: int) -> Answer:
        if rule["folderUID"] not in self.fake.folders:
            return 400, {"message": f"folder {rule['folderUID']!r} does not exist"}
        for query in rule["data"]:
            source = query.get("datasourceUid")
            if source not in ("__expr__", "-100") and source not in self.fake.datasources:
                return 400, {"message": f"invalid query {query.get('refId')}: data source {source!r} not found"}
        rule["provenance"] = "" if _no_provenance(request) else "api"
        rule.setdefault("id", self.fake.next_id())
        self.fake.alert_rules[rule["uid"]] = rule
        return status, copy.deepcopy(rule)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ThreadingHTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle + delayed ACK add ~40 ms per answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.fake: FakeGrafana = self.server.fake  # type: ignore[attr-defined]
        if not self.fake.connection_opened(self.connection):
            _drop(self.connection)

    def finish(self) -> None:
        self.fake.connection_closed(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.fake.refusing:
            self.close_connection = True
            return
        status, payload = self.fake.handle(self.command, self.path, dict(self.headers.items()), raw)
        body = b"" if payload is None else json.dumps(payload).encode()
        try:
            self.send_response(status)
            if payload is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (timeout) or the fake went down meanwhile
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _receivers(route: dict[str, Any]) -> set[str]:
    found = {route["receiver"]} if route.get("receiver") else set()
    for child in route.get("routes") or []:
        found |= _receivers(child)
    return found


def _redacted(point: dict[str, Any]) -> dict[str, Any]:
    shown = copy.deepcopy(point)
    for key in SECURE_SETTINGS.get(point.get("type", ""), ()):
        if key in shown.get("settings", {}):
            shown["settings"][key] = "[REDACTED]"
    return shown


def _no_provenance(request: Recorded) -> bool:
    return request.headers.get("X-Disable-Provenance", "").lower() == "true"


def _json_or_raw(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _drop(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
