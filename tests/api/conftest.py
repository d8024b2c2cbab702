"""Fixtures for the HTTP API: a seeded chdb store, the app, and keys of each scope."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import ClassifierSource, create_app
from api.keys import KeyRing, token_parts
from config import Settings
from models import Classifier
from storage import Store, open_store
from tests.dashboards.seed import seed


@pytest.fixture(scope="module")
def api_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """Six hours of seeded documents, scores, rollups and alerts (shared by a module's tests)."""
    store = open_store(f"chdb://{tmp_path_factory.mktemp('api') / 'chdb'}")
    store.init_schema()
    seed(store)
    yield store
    store.close()


@pytest.fixture(scope="module")
def classifier_source(tiny_model_dir: Path) -> ClassifierSource:
    return ClassifierSource(lambda: Classifier.load(str(tiny_model_dir), backend="onnx-int8"))


def make_client(store: Store, source: ClassifierSource, **overrides: object) -> TestClient:
    settings = Settings(_env_file=None, **overrides)  # type: ignore[call-arg]
    return TestClient(create_app(settings.api, store, source))


@pytest.fixture
def client(api_store: Store, classifier_source: ClassifierSource) -> TestClient:
    return make_client(api_store, classifier_source, api_max_texts=8, api_max_text_chars=2_000)


@pytest.fixture(scope="module")
def keys(api_store: Store) -> dict[str, str]:
    """A token per scope, plus one revoked."""
    ring = KeyRing(api_store)
    tokens = {scope: ring.create(f"test-{scope}", scope)[1] for scope in ("read", "write", "admin")}  # type: ignore[arg-type]
    revoked_row, tokens["revoked"] = ring.create("test-revoked", "admin")
    ring.revoke(revoked_row.key_id)
    return tokens


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def secret_of(token: str) -> str:
    """The secret part of an API key, as ``api.keys`` reads it (the secret may hold ``_``)."""
    parts = token_parts(token)
    assert parts is not None, f"not an API key: {token!r}"
    return parts[1]
