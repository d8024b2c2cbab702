"""Check HTTP requests against Grafana's published OpenAPI 3 spec (``../shared/grafana/openapi3.json``).

What is checked, per request:

- the path and method exist in the spec. ``servers`` is ``/api`` and most keys are relative to
  it (``/annotations`` = ``/api/annotations``), but the alerting provisioning keys already carry
  the prefix (``/api/v1/provisioning/...`` is that exact URL);
- every query parameter is declared for the operation and its value fits the declared schema,
  required query and header parameters are present;
- a JSON body is sent exactly when the operation has a request body, and it validates against
  that schema (``$ref``s resolved, JSON Schema draft 4 semantics as OpenAPI 3.0 uses them);
- beyond the spec: no object in the body has a property its schema does not declare (Grafana
  ignores unknown fields silently, so a misspelt ``orgId`` would go unnoticed otherwise).

Special cases, where the published spec does not describe what Grafana really accepts:

- ``GET /api/health`` and ``GET /api/frontend/settings`` are missing from the spec;
- ``EmbeddedContactPoint.type``'s enum values carry a leading space (``" email"``): stripped;
- ``Duration`` is declared an int64 of nanoseconds, but on the wire ``for`` is a Prometheus
  duration string (``"5m"``) and ``relativeTimeRange`` holds seconds: integer, number or string;
- ``ObjectMatchers`` is declared a list of ``{Name, Type, Value}`` objects, but Grafana reads and
  writes ``[["name", "=", "value"], ...]``.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = REPO_ROOT.parent / "shared" / "grafana" / "openapi3.json"
"""``../shared/grafana/openapi3.json`` from the repository root."""
UNLISTED = frozenset({("GET", "/api/health"), ("GET", "/api/frontend/settings")})
SERVER_PREFIX = "/api"
_GO_DURATION = r"^(0|(\d+(\.\d+)?(ns|us|µs|ms|s|m|h|d|w|y))+)$"
_PATCHED_SCHEMAS: dict[str, Any] = {
    "Duration": {"anyOf": [{"type": "integer"}, {"type": "number"}, {"type": "string", "pattern": _GO_DURATION}]},
    "ObjectMatchers": {
        "type": "array",
        "items": {
            "type": "array",
            "minItems": 3,
            "maxItems": 3,
            "items": [{"type": "string"}, {"enum": ["=", "!=", "=~", "!~"]}, {"type": "string"}],
        },
    },
}


@dataclass(frozen=True)
class Operation:
    """One (method, path template) of the spec."""

    method: str
    template: str
    spec: dict[str, Any]


class OpenApiSpec:
    """Grafana's OpenAPI document, patched as the module docstring says, ready to check requests."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.components = _patched_components(document.get("components", {}))
        self._routes = [(_template_regex(template), template) for template in document["paths"]]

    @classmethod
    def load(cls, path: Path = SPEC_PATH) -> OpenApiSpec | None:
        """The spec at ``path``, or None when the file is absent (validation is then skipped)."""
        if not path.is_file():
            return None
        return cls(json.loads(path.read_text()))

    def operation(self, method: str, path: str) -> Operation | None:
        """The operation serving ``method path`` (a full URL path, ``/api/...``), or None."""
        for template in self._templates_for(path):
            item = self.document["paths"][template]
            if method.lower() in item:
                return Operation(method.upper(), template, item[method.lower()])
        return None

    def check(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> list[str]:
        """Everything wrong with this request, as readable messages (empty: it fits the spec)."""
        if (method.upper(), path) in UNLISTED:
            return [] if not body else [f"{method} {path}: unexpected body"]
        where = f"{method.upper()} {path}"
        if not self._templates_for(path):
            return [f"{where}: path not in the spec"]
        operation = self.operation(method, path)
        if operation is None:
            return [f"{where}: method not allowed by the spec"]
        problems = self._check_parameters(operation, query, headers)
        problems += self._check_body(operation, headers, body)
        return [f"{where} ({operation.template}): {problem}" for problem in problems]

    def _templates_for(self, path: str) -> list[str]:
        relative = path[len(SERVER_PREFIX) :] if path.startswith(SERVER_PREFIX + "/") else None
        matches = []
        for regex, template in self._routes:
            candidate = path if template.startswith(SERVER_PREFIX + "/") else relative
            if candidate is not None and regex.fullmatch(candidate):
                matches.append(template)
        return sorted(matches, key=lambda template: template.count("{"))  # literal segments win

    def _check_parameters(
        self, operation: Operation, query: dict[str, list[str]], headers: dict[str, str]
    ) -> list[str]:
        declared = {(p["in"], p["name"]): p for p in self._parameters(operation)}
        problems = []
        for name, values in query.items():
            parameter = declared.get(("query", name))
            if parameter is None:
                problems.append(f"query parameter {name!r} is not declared")
                continue
            problems += self._check_query_value(name, values, parameter.get("schema", {}))
        lowered = {key.lower() for key in headers}
        for (where, name), parameter in declared.items():
            if not parameter.get("required"):
                continue
            if (where == "query" and name not in query) or (where == "header" and name.lower() not in lowered):
                problems.append(f"required {where} parameter {name!r} is missing")
        return problems

    def _parameters(self, operation: Operation) -> list[dict[str, Any]]:
        item = self.document["paths"][operation.template]
        return [self._resolve(p) for p in [*item.get("parameters", []), *operation.spec.get("parameters", [])]]

    def _check_query_value(self, name: str, values: list[str], schema: dict[str, Any]) -> list[str]:
        schema = self._resolve(schema)
        if schema.get("type") == "array":
            value: Any = [_coerce(item, self._resolve(schema.get("items", {}))) for item in values]
        elif len(values) > 1:
            return [f"query parameter {name!r} given {len(values)} times but is not an array"]
        else:
            value = _coerce(values[0], schema)
        return [f"query parameter {name!r}: {error}" for error in self._errors(schema, value)]

    def _check_body(self, operation: Operation, headers: dict[str, str], body: bytes) -> list[str]:
        request_body = self._resolve(operation.spec.get("requestBody") or {})
        if not request_body:
            return ["a body was sent but the operation takes none"] if body.strip() else []
        if not body.strip():
            return ["the required request body is missing"] if request_body.get("required") else []
        content = request_body.get("content", {})
        content_type = next((value for key, value in headers.items() if key.lower() == "content-type"), "")
        if "application/json" not in content or not content_type.startswith("application/json"):
            return [f"body sent as {content_type!r}, the operation takes {sorted(content)}"]
        try:
            payload = json.loads(body)
        except ValueError as exc:
            return [f"body is not JSON: {exc}"]
        schema = content["application/json"].get("schema", {})
        return self._errors(schema, payload) + self._unknown_properties(schema, payload, "body")

    def _errors(self, schema: dict[str, Any], value: Any) -> list[str]:
        validator = Draft4Validator({"allOf": [schema], "components": self.components})
        errors = sorted(validator.iter_errors(value), key=lambda error: [str(part) for part in error.absolute_path])
        return [f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}" for error in errors]

    def _unknown_properties(self, schema: dict[str, Any], value: Any, where: str) -> list[str]:
        schema = self._resolve(schema)
        problems = []
        if isinstance(value, dict) and "properties" in schema and "additionalProperties" not in schema:
            for key, item in value.items():
                if key not in schema["properties"]:
                    problems.append(f"{where}/{key}: property not declared in the schema")
                else:
                    problems += self._unknown_properties(schema["properties"][key], item, f"{where}/{key}")
        elif isinstance(value, list) and isinstance(schema.get("items"), dict):
            for index, item in enumerate(value):
                problems += self._unknown_properties(schema["items"], item, f"{where}/{index}")
        return problems

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        seen = 0
        while isinstance(node, dict) and "$ref" in node and seen < 20:
            parts = node["$ref"].removeprefix("#/").split("/")
            target: Any = {"components": self.components}
            for part in parts:
                target = target[part]
            node, seen = target, seen + 1
        return node


def _patched_components(components: dict[str, Any]) -> dict[str, Any]:
    patched = copy.deepcopy(components)
    schemas = patched.setdefault("schemas", {})
    schemas.update(copy.deepcopy(_PATCHED_SCHEMAS))
    _strip_enums(schemas)
    return patched


def _strip_enums(node: Any) -> None:
    if isinstance(node, dict):
        if isinstance(node.get("enum"), list):
            node["enum"] = [value.strip() if isinstance(value, str) else value for value in node["enum"]]
        for value in node.values():
            _strip_enums(value)
    elif isinstance(node, list):
        for value in node:
            _strip_enums(value)


def _template_regex(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)))


def _coerce(raw: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
    except ValueError:
        return raw
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    return raw
