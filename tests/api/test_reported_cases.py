"""Every request reported to break or mislead the API, replayed: a clear 4xx or the right answer, never a 5xx.

The cases come from trying the API as a new user and as an attacker would (NaN and lone
surrogates in JSON, 5 MB of text, nonsense rule thresholds, mixed-case names, mismatched
limits). The fuzzing in ``test_schemathesis.py`` covers what nobody thought of.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from storage import Store
from tests.api.conftest import auth, make_client
from tests.dashboards.seed import BURST_SYMBOL


def raw_rule(threshold: str, metric: str = "mean_score") -> bytes:
    return (
        b'{"id": "desk", "scope": "symbol", "target": "NVDA", "metric": "%s", "comparison": "<", "threshold": %s}'
        % (metric.encode(), threshold.encode())
    )


CASES = [
    # (method, path, params, raw JSON body, scope, status, words the answer must contain)
    ("POST", "/v1/classify", None, b'{"texts": NaN}', "read", 422, "valid list"),
    ("POST", "/v1/classify", None, b'{"texts": ["\\ud800 Apple"]}', "read", 422, "not valid Unicode"),
    ("PUT", "/v1/rules/desk", None, raw_rule("NaN"), "admin", 422, "threshold"),
    ("PUT", "/v1/rules/desk", None, raw_rule("Infinity"), "admin", 422, "threshold"),
    ("PUT", "/v1/rules/desk", None, raw_rule("7"), "admin", 422, "threshold"),
    ("PUT", "/v1/rules/desk", None, raw_rule("-3", "volume"), "admin", 422, "threshold"),
    ("GET", "/v1/sentiment", {"symbol": "NVDA", "interval": "2d"}, None, "read", 422, "between 1m and 1d"),
    ("GET", "/v1/sentiment", {"symbol": "NVDA", "interval": "7d"}, None, "read", 422, "between 1m and 1d"),
    ("GET", "/v1/documents", {"limit": "10000"}, None, "read", 422, "less than or equal to 500"),
    ("GET", "/v1/documents", {"sentiment": "-1"}, None, "read", 422, "negative"),
    ("GET", "/v1/movers", {"baseline": "90d"}, None, "read", 422, "between 1m and 30d"),
    ("GET", "/v1/documents", {"from": "0001-01-01T00:00:00Z"}, None, "read", 422, "between 1971 and 2105"),
    ("GET", "/v1/dead-letters", None, None, "read", 403, "admin"),
]


@pytest.mark.parametrize(("method", "path", "params", "body", "scope", "status", "words"), CASES)
def test_each_reported_case_gets_a_clear_client_error(
    api_store: Store, classifier_source, keys: dict[str, str], tmp_path, method: str, path: str,
    params: dict | None, body: bytes | None, scope: str, status: int, words: str,
) -> None:  # fmt: skip
    client = make_client(api_store, classifier_source, data_dir=tmp_path)
    headers = auth(keys[scope]) | {"content-type": "application/json"}
    answer = client.request(method, path, params=params, content=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert words in answer.text


def test_a_5_mb_request_is_refused_before_any_work(client: TestClient, keys: dict[str, str]) -> None:
    answer = client.post("/v1/classify", json={"texts": ["x" * 20_000] * 256}, headers=auth(keys["read"]))
    assert answer.status_code == 413


def test_names_match_in_any_case(client: TestClient, keys: dict[str, str]) -> None:
    def points(params: dict[str, str]) -> list:
        answer = client.get("/v1/sentiment", params=params, headers=auth(keys["read"]))
        assert answer.status_code == 200, answer.text
        return answer.json()["points"]

    assert points({"symbol": BURST_SYMBOL.lower()}) == points({"symbol": BURST_SYMBOL}) != []
    topics = client.get("/v1/topics", headers=auth(keys["read"])).json()
    assert topics, "the topics are listed"
    name = topics[0]["name"]
    assert points({"topic": name.lower()}) == points({"topic": name.upper()}) == points({"topic": name}) != []


def test_rules_survive_a_read_then_write_round_trip(api_store: Store, classifier_source, keys, tmp_path) -> None:
    client = make_client(api_store, classifier_source, data_dir=tmp_path)
    listed = client.get("/v1/rules", headers=auth(keys["read"])).json()
    assert listed and all(isinstance(rule["threshold"], int | float) for rule in listed)
    for rule in listed:
        written = client.put(f"/v1/rules/{rule['id']}", json=rule, headers=auth(keys["admin"]))
        assert written.status_code == 200, written.text
        assert written.json()["changed"] is False, f"{rule['id']} changed on a plain round trip"
