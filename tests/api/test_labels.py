"""``POST/GET /v1/labels`` and ``GET /v1/review``: corrections by key id, checked against stored documents."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import auth


def test_a_label_is_stored_by_key_id_and_listed_with_the_prediction(client: TestClient, keys: dict[str, str]) -> None:
    body = {"doc_id": "d1", "sentiment": "negative", "topic": "earnings"}
    assert client.post("/v1/labels", json=body, headers=auth(keys["read"])).status_code == 403
    stored = client.post("/v1/labels", json=body, headers=auth(keys["write"]))
    assert stored.status_code == 200, stored.text
    rows = stored.json()
    assert [(r["task"], r["label"]) for r in rows] == [("sentiment", "negative"), ("topic", "Earnings")]
    assert rows[0]["labeller"] == keys["write"].split("_")[1], "the key id, never a name"
    assert "test-write" not in stored.text
    listed = client.get("/v1/labels", headers=auth(keys["read"])).json()
    mine = [row for row in listed["labels"] if row["doc_id"] == "d1"]
    assert {row["task"] for row in mine} == {"sentiment", "topic"} and all(row["predicted"] for row in mine)
    client.post("/v1/labels", json={"doc_id": "d1", "sentiment": "positive"}, headers=auth(keys["admin"]))
    split = client.get("/v1/labels", headers=auth(keys["read"])).json()["disagreements"]
    assert any(row["doc_id"] == "d1" and sorted(row["labels"]) == ["negative", "positive"] for row in split)


def test_bad_labels_are_client_errors(client: TestClient, keys: dict[str, str]) -> None:
    write = auth(keys["write"])
    unknown = client.post("/v1/labels", json={"doc_id": "nope", "sentiment": "negative"}, headers=write)
    assert unknown.status_code == 404 and "no stored document" in unknown.text
    topic = client.post("/v1/labels", json={"doc_id": "d1", "topic": "Weather"}, headers=write)
    assert topic.status_code == 422 and "unknown topic" in topic.text
    assert client.post("/v1/labels", json={"doc_id": "d1"}, headers=write).status_code == 422
    assert client.post("/v1/labels", json={"doc_id": "d1", "sentiment": "-1"}, headers=write).status_code == 422


def test_review_lists_unlabelled_documents(client: TestClient, keys: dict[str, str]) -> None:
    answer = client.get("/v1/review", params={"limit": 6, "from": "2020-01-01T00:00:00Z"}, headers=auth(keys["read"]))
    assert answer.status_code == 200, answer.text
    rows = answer.json()
    assert 0 < len(rows) <= 6 and all(row["why"] in {"new", "low confidence"} for row in rows)


def test_drift_report(client: TestClient, keys: dict[str, str]) -> None:
    answer = client.get("/v1/drift", params={"from": "2020-01-01T00:00:00Z"}, headers=auth(keys["read"]))
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["rows"] and {"hour", "source", "docs", "psi", "low_confidence_share"} <= set(report["rows"][0])
