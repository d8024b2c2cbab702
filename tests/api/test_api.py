"""``finsent api`` routes: auth, limits, history queries, classification, subscriptions, operations."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api.keys import KeyRing, grants
from api.limits import RateLimiter
from schemas.api import SentimentSeries
from storage import Store
from tests.api.conftest import auth, make_client, secret_of
from tests.dashboards.seed import BURST_SYMBOL, NOW
from tests.fakes.grafana import TOKEN, FakeGrafana

ROUTES = [
    ("POST", "/v1/classify", {"texts": ["Acme shares plunge"]}),
    ("GET", "/v1/sentiment?symbol=NVDA", None),
    ("GET", "/v1/documents", None),
    ("GET", "/v1/alerts", None),
    ("GET", "/v1/symbols", None),
    ("GET", "/v1/topics", None),
    ("GET", "/v1/movers", None),
]


def test_healthz_and_metrics_need_no_key(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}  # no store path for anonymous callers
    client.get("/v1/alerts")
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert 'finsent_api_requests_total{method="GET",route="/v1/alerts",status="401"}' in metrics.text


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_every_data_route_refuses_missing_malformed_and_revoked_keys(
    client: TestClient, keys: dict[str, str], method: str, path: str, body: object
) -> None:
    for headers in ({}, auth("nonsense"), auth(keys["revoked"]), auth(keys["read"][:-2] + "xx")):
        answer = client.request(method, path, json=body, headers=headers)
        assert answer.status_code == 401, (headers, answer.text)
        assert answer.headers["www-authenticate"] == "Bearer"
    assert client.request(method, path, json=body, headers=auth(keys["read"])).status_code == 200


def test_scopes_are_ordered(client: TestClient, keys: dict[str, str]) -> None:
    answer = client.post("/v1/subscriptions", json={"rule": "r", "email": "a@example.com"}, headers=auth(keys["read"]))
    assert answer.status_code == 403 and "needs 'write'" in answer.json()["detail"]
    assert grants("admin", "write") and grants("write", "read") and not grants("read", "write")


def test_keys_are_stored_only_as_salted_hashes(api_store: Store) -> None:
    ring = KeyRing(api_store)
    row, token = ring.create("hash-check", "read")
    secret = secret_of(token)
    stored = api_store._query("SELECT salt, key_hash FROM api_keys FINAL WHERE key_id = %(id)s", {"id": row.key_id})
    assert stored and secret not in "".join(stored[0])
    other_row, _ = ring.create("hash-check-2", "read")
    assert other_row.salt != row.salt
    assert ring.verify(token) == row
    assert ring.verify(token.replace(row.key_id, other_row.key_id)) is None  # another key's id, this secret


def test_rate_limit_per_key(api_store: Store, classifier_source, keys: dict[str, str]) -> None:
    client = make_client(api_store, classifier_source, api_rate_limit_per_min=3)
    codes = [client.get("/v1/alerts", headers=auth(keys["read"])).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert client.get("/v1/alerts", headers=auth(keys["write"])).status_code == 200  # another key's bucket
    refused = client.get("/v1/alerts", headers=auth(keys["read"]))
    assert int(refused.headers["retry-after"]) >= 1


def test_rate_limiter_refills() -> None:
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])
    assert all(limiter.acquire("k") == 0 for _ in range(60))
    assert limiter.acquire("k") == pytest.approx(1.0)
    now[0] = 1.0
    assert limiter.acquire("k") == 0


def test_classify(client: TestClient, keys: dict[str, str]) -> None:
    texts = ["Acme shares plunge after weak guidance", "Globex beats estimates and raises guidance"]
    answer = client.post("/v1/classify", json={"texts": texts}, headers=auth(keys["read"]))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert len(body["predictions"]) == 2 and body["model_version"]
    for prediction in body["predictions"]:
        assert prediction["score"] == pytest.approx(prediction["p_positive"] - prediction["p_negative"], abs=1e-6)
        assert prediction["symbols"] == []


def test_classify_gives_symbols_the_document_sentiment_without_an_entity_head(
    client: TestClient, keys: dict[str, str]
) -> None:
    body = {"texts": ["Apple shares plunge as $MSFT rallies"]}
    (prediction,) = client.post("/v1/classify", json=body, headers=auth(keys["read"])).json()["predictions"]
    symbols = {s["symbol"]: s for s in prediction["symbols"]}
    assert symbols.keys() == {"AAPL", "MSFT"}
    assert symbols["MSFT"]["mentions"] == [{"start": 23, "end": 28, "kind": "cashtag"}]
    assert {(s["score"], s["source"]) for s in symbols.values()} == {(prediction["score"], "document")}


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"texts": ["a"] * 9}, 413, "at most 8 texts"),
        ({"texts": ["ok", "x" * 2_001]}, 413, "texts[1] has 2001 characters"),
        ({"texts": ["ok", "   "]}, 422, "texts[1] is empty"),
        ({"texts": []}, 422, "at least 1 item"),
        ({"texts": "just one"}, 422, "valid list"),
    ],
)
def test_classify_limits(client: TestClient, keys: dict[str, str], body: object, status: int, message: str) -> None:
    answer = client.post("/v1/classify", json=body, headers=auth(keys["read"]))
    assert answer.status_code == status
    assert message in answer.text


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"texts": NaN}', "valid list"),
        (b'{"texts": [Infinity]}', "valid string"),
        (b'{"texts": ["\\ud800 Apple"]}', "texts[0] is not valid Unicode"),
        (b'{"texts": ["ok", "Apple \\udfff"]}', "texts[1] is not valid Unicode"),
    ],
)
def test_classify_answers_hostile_json_with_422(
    client: TestClient, keys: dict[str, str], raw: bytes, message: str
) -> None:
    headers = auth(keys["read"]) | {"content-type": "application/json"}
    answer = client.post("/v1/classify", content=raw, headers=headers)
    assert answer.status_code == 422, answer.text
    assert message in answer.text


def test_a_request_has_a_character_budget(api_store: Store, classifier_source, keys) -> None:
    client = make_client(api_store, classifier_source, api_max_request_chars=3_000)
    answer = client.post("/v1/classify", json={"texts": ["x" * 1_500, "y" * 1_501]}, headers=auth(keys["read"]))
    assert answer.status_code == 413 and "3001 characters in all" in answer.text


def test_a_key_has_a_token_budget_per_minute(api_store: Store, classifier_source, keys) -> None:
    texts = {"texts": ["Acme shares plunge " * 100]}
    (tokens,) = classifier_source.get().token_counts(texts["texts"])
    assert tokens >= 256  # the settings' floor
    client = make_client(
        api_store, classifier_source, api_key_tokens_per_min=tokens * 3 // 2, api_max_request_tokens=tokens
    )
    assert client.post("/v1/classify", json=texts, headers=auth(keys["read"])).status_code == 200
    spent = client.post("/v1/classify", json=texts, headers=auth(keys["read"]))
    assert spent.status_code == 429 and "tokens per minute is spent" in spent.text
    assert int(spent.headers["Retry-After"]) >= 1


def test_failed_authentications_are_rate_limited_per_address(api_store: Store, classifier_source, keys) -> None:
    client = make_client(api_store, classifier_source, api_auth_failures_per_min=2)
    params = {"symbol": "NVDA"}
    guesses = [client.get("/v1/sentiment", params=params, headers=auth(f"fsk_guess_{n}")).status_code for n in range(3)]
    assert guesses == [401, 401, 429]
    blocked = client.get("/v1/sentiment", params=params, headers=auth("fsk_guess_again"))
    assert blocked.status_code == 429 and "failed authentications" in blocked.text
    assert client.get("/v1/sentiment", params=params, headers=auth(keys["read"])).status_code == 200


def test_classification_stops_when_the_client_goes_away() -> None:
    from api.routers.classify import CHUNK_TOKENS, ClientGone, predict_while_connected

    calls: list[int] = []
    checks = iter([False, False, True])

    def predict(texts: list[str]) -> list[str]:
        calls.append(len(texts))
        return texts

    async def disconnected() -> bool:
        return next(checks)

    texts, counts = ["t"] * 10, [CHUNK_TOKENS // 2] * 10
    with pytest.raises(ClientGone):
        asyncio.run(predict_while_connected(predict, texts, counts, disconnected))
    assert calls == [2, 2]


def test_oversized_bodies_are_refused_before_parsing(api_store: Store, classifier_source, keys) -> None:
    client = make_client(api_store, classifier_source, api_max_body_bytes=1_000)
    answer = client.post("/v1/classify", json={"texts": ["x" * 5_000]}, headers=auth(keys["read"]))
    assert answer.status_code == 413


def test_sentiment_series(client: TestClient, keys: dict[str, str]) -> None:
    params = {"symbol": BURST_SYMBOL.lower(), "from": (NOW - timedelta(hours=6)).isoformat(), "to": NOW.isoformat()}
    answer = client.get("/v1/sentiment", params=params | {"interval": "30m"}, headers=auth(keys["read"]))
    assert answer.status_code == 200, answer.text
    body = SentimentSeries.model_validate_json(answer.content).model_dump(mode="json")
    assert body == answer.json()  # the JSON ClickHouse wrote is exactly the documented schema
    assert body["symbol"] == BURST_SYMBOL and body["interval_s"] == 1800
    assert 0 < len(body["points"]) <= 13 and sum(point["docs"] for point in body["points"]) > 0
    until = NOW - timedelta(hours=3)
    earlier = client.get("/v1/sentiment", params=params | {"to": until.isoformat()}, headers=auth(keys["read"]))
    assert earlier.json()["points"] and all(p["time"] < until.isoformat() for p in earlier.json()["points"])
    topic = client.get("/v1/sentiment", params={"topic": "Macro", "interval": "1h"}, headers=auth(keys["read"]))
    assert topic.status_code == 200 and topic.json()["points"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"symbol": "NVDA", "topic": "Macro"}, "not both"),
        ({"symbol": "NVDA", "interval": "2d"}, "between 1m and 1d"),
        ({"symbol": "NVDA", "interval": "5 minutes"}, "string_pattern_mismatch"),
        ({"symbol": "NVDA", "interval": "90s"}, "whole number of minutes"),
        ({"topic": "0", "interval": "61"}, "whole number of minutes"),
        ({"symbol": "NVDA", "interval": "1m", "from": "2000-01-01T00:00:00Z"}, "more than 50000 intervals"),
        ({"symbol": "NVDA", "from": "2030-01-01T00:00:00Z", "to": "2029-01-01T00:00:00Z"}, "must be before"),
        ({"symbol": "A'--"}, "string_pattern_mismatch"),
        ({"symbol": "NVDA", "from": "0001-01-01T00:00:00+05:00"}, "between 1971 and 2105"),
        ({"symbol": "NVDA", "to": "9999-12-31T23:59:59-05:00"}, "between 1971 and 2105"),
        ({"symbol": "NVDA'; DROP TABLE documents; --"}, "at most 12 characters"),
    ],
)
def test_sentiment_refuses_bad_parameters(client: TestClient, keys: dict[str, str], params: dict, message: str) -> None:
    answer = client.get("/v1/sentiment", params=params, headers=auth(keys["read"]))
    assert answer.status_code == 422 and message in answer.text


@pytest.mark.parametrize("payload", ["x' OR '1'='1", "'; DROP TABLE documents; --", "%(start)s", "{0}", "\\'"])
def test_free_text_parameters_are_data_not_sql(
    client: TestClient, keys: dict[str, str], api_store: Store, payload: str
) -> None:
    before = api_store.count_documents()
    for path in ("/v1/sentiment", "/v1/documents", "/v1/alerts"):
        answer = client.get(path, params={"topic": payload}, headers=auth(keys["read"]))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        rows = body if isinstance(body, list) else body.get("points", body.get("documents"))
        assert rows == []
    assert api_store.count_documents() == before


def test_documents_pages_cover_the_range_once_newest_first(
    client: TestClient, keys: dict[str, str], api_store: Store
) -> None:
    params = {"symbol": BURST_SYMBOL, "limit": 25, "from": (NOW - timedelta(hours=7)).isoformat()}
    seen: list[dict] = []
    cursor = None
    while True:
        answer = client.get("/v1/documents", params=params | ({"cursor": cursor} if cursor else {}),
                            headers=auth(keys["read"]))  # fmt: skip
        assert answer.status_code == 200, answer.text
        page = answer.json()
        seen += page["documents"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    expected = api_store._query("SELECT count() FROM documents FINAL WHERE has(symbols, %(s)s)", {"s": BURST_SYMBOL})
    assert len(seen) == len({doc["doc_id"] for doc in seen}) == expected[0][0] > 25
    order = [(doc["time"], doc["doc_id"]) for doc in seen]
    assert order == sorted(order, reverse=True)
    assert all(BURST_SYMBOL in doc["symbols"] for doc in seen)


def test_documents_filters_and_bad_cursor(client: TestClient, keys: dict[str, str]) -> None:
    negative = client.get("/v1/documents", params={"sentiment": "negative", "limit": 500}, headers=auth(keys["read"]))
    assert negative.status_code == 200 and {d["sentiment"] for d in negative.json()["documents"]} == {"negative"}
    bad = client.get("/v1/documents", params={"cursor": "not-a-cursor"}, headers=auth(keys["read"]))
    assert bad.status_code == 422 and "invalid cursor" in bad.text


def test_alerts_route(client: TestClient, keys: dict[str, str]) -> None:
    answer = client.get("/v1/alerts", params={"symbol": BURST_SYMBOL}, headers=auth(keys["read"]))
    assert answer.status_code == 200
    alerts = answer.json()
    assert {alert["rule_id"] for alert in alerts} == {"neg-burst", "score-drop"}
    assert [a["fired_at"] for a in alerts] == sorted((a["fired_at"] for a in alerts), reverse=True)


def test_subscriptions_without_grafana_is_a_clear_503(client: TestClient, keys: dict[str, str]) -> None:
    answer = client.get("/v1/subscriptions", headers=auth(keys["read"]))
    assert answer.status_code == 503 and "FINSENT_GRAFANA_URL" in answer.text


def test_subscriptions_delegate_to_grafana(api_store: Store, classifier_source, keys: dict[str, str]) -> None:
    with FakeGrafana() as grafana:
        client = make_client(api_store, classifier_source, grafana_url=grafana.url, grafana_token=TOKEN)
        body = {"rule": "symbol-negative-burst", "email": "desk@example.com"}
        first = client.post("/v1/subscriptions", json=body, headers=auth(keys["write"]))
        again = client.post("/v1/subscriptions", json=body, headers=auth(keys["admin"]))
        listed = client.get("/v1/subscriptions", headers=auth(keys["read"])).json()
        bad = client.post("/v1/subscriptions", json={"rule": "r", "email": "a@b.c", "slack": "https://x"},
                          headers=auth(keys["write"]))  # fmt: skip
        gone = client.delete("/v1/subscriptions", params={"rule": "symbol-negative-burst"}, headers=auth(keys["write"]))
        grafana.wait_idle()
    assert first.status_code == 200 and first.json()["changed"] is True
    assert again.json()["changed"] is False
    assert [(s["rule_id"], s["target"]) for s in listed] == [("symbol-negative-burst", "desk@example.com")]
    assert bad.status_code == 422
    assert gone.status_code == 200 and gone.json()["changed"] is True


def test_openapi_document_is_published(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/v1/classify", "/v1/sentiment", "/v1/documents", "/v1/alerts", "/v1/subscriptions", "/healthz"} <= set(
        spec["paths"]
    )
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_rules_are_listed_with_read_and_changed_only_with_admin(
    api_store: Store, classifier_source, keys: dict[str, str], tmp_path
) -> None:
    client = make_client(api_store, classifier_source, data_dir=tmp_path)
    listed = client.get("/v1/rules", headers=auth(keys["read"]))
    assert listed.status_code == 200 and len(listed.json()) == 5
    rule = {"id": "nvda-gloom", "scope": "symbol", "target": "NVDA", "metric": "mean_score", "comparison": "<=",
            "threshold": -0.4, "window": "10m"}  # fmt: skip
    assert client.put("/v1/rules/nvda-gloom", json=rule, headers=auth(keys["write"])).status_code == 403
    first = client.put("/v1/rules/nvda-gloom", json=rule, headers=auth(keys["admin"]))
    again = client.put("/v1/rules/nvda-gloom", json=rule, headers=auth(keys["admin"]))
    assert (first.status_code, first.json()["changed"], again.json()["changed"]) == (200, True, False)
    assert (tmp_path / "rules.yaml").exists()
    stored = [r for r in client.get("/v1/rules", headers=auth(keys["read"])).json() if r["id"] == "nvda-gloom"]
    assert stored and stored[0]["window"] == 600
    mismatch = client.put("/v1/rules/other", json=rule, headers=auth(keys["admin"]))
    assert mismatch.status_code == 422 and "does not match" in mismatch.text
    invalid = client.put("/v1/rules/nvda-gloom", json=rule | {"window": "2h"}, headers=auth(keys["admin"]))
    assert invalid.status_code == 422 and "between 1m and 1h" in invalid.text
    assert client.delete("/v1/rules/nvda-gloom", headers=auth(keys["admin"])).json()["changed"] is True
    assert client.delete("/v1/rules/nvda-gloom", headers=auth(keys["admin"])).json()["changed"] is False


@pytest.mark.parametrize(("page", "asset"), [("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")])
def test_the_api_docs_load_without_internet(client: TestClient, page: str, asset: str) -> None:
    html = client.get(page)
    assert html.status_code == 200 and asset in html.text
    assert "cdn." not in html.text and "fonts.googleapis" not in html.text
    script = re.search(r'src="([^"]+' + re.escape(asset) + ')"', html.text)
    assert script is not None and client.get(script.group(1)).status_code == 200


def test_symbols_and_topics_are_listed(client: TestClient, keys: dict[str, str]) -> None:
    params = {"from": (NOW - timedelta(hours=6)).isoformat(), "to": NOW.isoformat()}
    symbols = client.get("/v1/symbols", params=params, headers=auth(keys["read"]))
    assert symbols.status_code == 200, symbols.text
    assert BURST_SYMBOL in [row["name"] for row in symbols.json()]
    assert [row["docs"] for row in symbols.json()] == sorted((row["docs"] for row in symbols.json()), reverse=True)
    topics = client.get("/v1/topics", params=params, headers=auth(keys["read"])).json()
    assert "Macro" in [row["name"] for row in topics]
    lower = client.get("/v1/sentiment", params=params | {"topic": "macro"}, headers=auth(keys["read"])).json()
    exact = client.get("/v1/sentiment", params=params | {"topic": "Macro"}, headers=auth(keys["read"])).json()
    assert lower["points"] == exact["points"] and lower["points"]


def test_market_series_movers_and_dead_letters(client: TestClient, keys: dict[str, str], api_store: Store) -> None:
    params = {"from": (NOW - timedelta(hours=6)).isoformat(), "to": NOW.isoformat(), "interval": "1h"}
    market = client.get("/v1/sentiment", params=params, headers=auth(keys["read"]))
    assert market.status_code == 200, market.text
    by_topic = client.get("/v1/topics", params=params, headers=auth(keys["read"])).json()
    assert sum(point["docs"] for point in market.json()["points"]) == sum(row["docs"] for row in by_topic)
    movers = client.get(
        "/v1/movers", params={"window": "6h", "baseline": "1d", "min_docs": 1}, headers=auth(keys["read"])
    )
    assert movers.status_code == 200, movers.text
    assert all(set(row) >= {"name", "score_change", "volume_ratio"} for row in movers.json())
    bad = client.get("/v1/movers", params={"window": "1y"}, headers=auth(keys["read"]))
    assert bad.status_code == 422 and "window" in bad.text
    assert client.get("/v1/dead-letters", headers=auth(keys["read"])).status_code == 403  # raw previews: admin only
    letters = client.get("/v1/dead-letters", headers=auth(keys["admin"]))
    assert letters.status_code == 200 and set(letters.json()) == {"reasons", "latest"}
