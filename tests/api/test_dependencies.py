"""Routes take the store and the classifier as dependencies, so a test can swap either."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.deps import get_classifier, get_store
from models import NullClassifier
from storage import Store, StoreUnavailable
from tests.api.conftest import auth


class DownStore:
    description = "down"

    def ping(self) -> None:
        raise StoreUnavailable("connection refused")


class FixedClassifier(NullClassifier):
    model_version = "fixed+test"


def test_healthz_reports_a_store_swapped_in_by_override(client: TestClient) -> None:
    client.app.dependency_overrides[get_store] = DownStore  # type: ignore[attr-defined]
    try:
        answer = client.get("/healthz")
    finally:
        client.app.dependency_overrides.clear()  # type: ignore[attr-defined]
    assert answer.status_code == 503


def test_classify_uses_a_classifier_swapped_in_by_override(
    client: TestClient, keys: dict[str, str], api_store: Store
) -> None:
    client.app.dependency_overrides[get_classifier] = FixedClassifier  # type: ignore[attr-defined]
    try:
        answer = client.post("/v1/classify", json={"texts": ["Acme beats"]}, headers=auth(keys["read"]))
    finally:
        client.app.dependency_overrides.clear()  # type: ignore[attr-defined]
    assert answer.status_code == 200
    assert answer.json()["model_version"] == "fixed+test"
