"""``POST /v1/classify`` with ``kind`` (and ``source``): the texts are read as the worker reads that kind,
by the model its route names, with the served model's entity head reading the mentions."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import ClassifierSource
from api.routers.classify import token_weight
from config.routes import Route
from models.follow import FixedModel, ModelFollower
from storage import Store
from tests.api.conftest import auth, make_client
from tests.fakes.entity_models import CopyingModel, ServedEntityModel

FORD = "Ford beats estimates while rival General Motors misses and cuts its outlook"


class Spec:
    def __init__(self, base_model: str, entity_head: bool) -> None:
        self.base_model, self.entity_head = base_model, entity_head


class Student(ServedEntityModel):
    spec = Spec("minilm-l6", entity_head=True)  # type: ignore[assignment]


class Teacher(CopyingModel):
    """A bigger model without an entity head, as the shipped teacher on the news route."""

    spec = Spec("mpnet-base", entity_head=False)

    def __init__(self, version: str) -> None:
        super().__init__()
        self.model_version = version  # type: ignore[misc]


@pytest.fixture(scope="module")
def store(api_store: Store) -> Store:
    return api_store


@pytest.fixture(scope="module")
def token(keys: dict[str, str]) -> str:
    return keys["read"]


class Loader:
    """Loads route models by name and counts the loads."""

    def __init__(self) -> None:
        self.loaded: list[str] = []

    def __call__(self, name: str, served: FixedModel | ModelFollower) -> FixedModel | ModelFollower:
        self.loaded.append(name)
        return served if name == "default" else FixedModel(Teacher(f"{name}-v1"))  # type: ignore[arg-type]


ROUTES = (Route("news", None, "teacher"), Route("news", "prwire", "default"), Route("social", "x", "other"))


def client_for(store: Store, tmp_path: Path, loader: Loader, **overrides: object) -> TestClient:
    source = ClassifierSource(lambda: Student(), ROUTES, loader)  # type: ignore[arg-type,return-value]
    return make_client(store, source, data_dir=tmp_path, **overrides)


def versions(client: TestClient, token: str, **fields: str) -> str:
    answer = client.post("/v1/classify", json={"texts": [FORD], **fields}, headers=auth(token))
    assert answer.status_code == 200, answer.text
    return str(answer.json()["model_version"])


def test_a_kind_is_read_by_the_model_its_route_names(store: Store, tmp_path: Path, token: str) -> None:
    loader = Loader()
    client = client_for(store, tmp_path, loader)
    assert versions(client, token) == "fake-student"  # no kind: the served model, nothing else loaded
    assert versions(client, token, kind="social") == "fake-student"  # a kind without a route of its own
    assert loader.loaded == []
    assert versions(client, token, kind="news") == "teacher-v1"
    assert versions(client, token, kind="news", source="reuters") == "teacher-v1"  # the kind's route
    assert versions(client, token, kind="news", source="prwire") == "fake-student"  # its source's route
    assert versions(client, token, kind="social", source="x") == "other-v1"
    assert loader.loaded == ["teacher", "default", "other"]  # each route's model loaded once, when first asked


def test_the_served_entity_head_reads_the_mentions_of_a_model_without_one(
    store: Store, tmp_path: Path, token: str
) -> None:
    client = client_for(store, tmp_path, Loader())
    answer = client.post("/v1/classify", json={"texts": [FORD], "kind": "news"}, headers=auth(token))
    (prediction,) = answer.json()["predictions"]
    # The teacher's document reading; per company, the student's head: Ford positive, GM negative.
    assert [(s["symbol"], s["sentiment_label"], s["source"]) for s in prediction["symbols"]] == [
        ("F", "positive", "mention"),
        ("GM", "negative", "mention"),
    ]


def test_a_bigger_routed_model_spends_more_of_the_token_budget(store: Store, tmp_path: Path, token: str) -> None:
    text = " ".join([FORD] * 8)
    (tokens,) = Student().token_counts([text])
    assert 256 // 8 < tokens <= 256
    client = client_for(store, tmp_path, Loader(), api_max_request_tokens=256)
    served = client.post("/v1/classify", json={"texts": [text]}, headers=auth(token))
    assert served.status_code == 200, served.text
    answer = client.post("/v1/classify", json={"texts": [text], "kind": "news"}, headers=auth(token))
    assert answer.status_code == 413 and "weighed 8×" in answer.json()["detail"]


def test_a_source_alone_is_refused(store: Store, tmp_path: Path, token: str) -> None:
    client = client_for(store, tmp_path, Loader())
    answer = client.post("/v1/classify", json={"texts": [FORD], "source": "reuters"}, headers=auth(token))
    assert answer.status_code == 422 and "give kind too" in answer.text
    unknown = client.post("/v1/classify", json={"texts": [FORD], "kind": "blog"}, headers=auth(token))
    assert unknown.status_code == 422


def test_a_token_weighs_the_reading_models_work_against_the_served_ones() -> None:
    assert token_weight(Teacher("t"), Student()) == 8
    assert token_weight(Student(), Teacher("t")) == 1  # never below one
    assert token_weight(Student(), Student()) == 1
    assert token_weight(object(), Student()) == 1  # a model without a spec (the null model)
