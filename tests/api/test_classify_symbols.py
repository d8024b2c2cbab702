"""``POST /v1/classify`` answers, per text, the symbols it is about: their mentions, the text's
sentiment toward each (from one model pass) and their relevance."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import ClassifierSource
from api.keys import KeyRing
from models.entities import DEFAULT_MAX_SYMBOLS
from models.entities.relevance import EXPLICIT_ONLY_RELEVANCE
from models.symbol_sentiment import MENTIONS_SCORED_PER_SYMBOL
from storage import Store, open_store
from tests.api.conftest import auth, make_client
from tests.fakes.entity_models import FirstWinsModel

FORD = "Ford beats estimates while rival General Motors misses and cuts its outlook"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with open_store(f"chdb://{tmp_path_factory.mktemp('classify') / 'chdb'}") as opened:
        opened.init_schema()
        yield opened


@pytest.fixture(scope="module")
def token(store: Store) -> str:
    return KeyRing(store).create("reader", "read")[1]


@pytest.fixture
def model() -> FirstWinsModel:
    return FirstWinsModel()


@pytest.fixture
def client(store: Store, model: FirstWinsModel, tmp_path: Path) -> TestClient:
    return make_client(store, ClassifierSource(lambda: model), data_dir=tmp_path)  # type: ignore[arg-type,return-value]


def test_each_text_carries_its_symbols_with_spans_sentiment_and_relevance(
    client: TestClient, model: FirstWinsModel, token: str
) -> None:
    texts = [FORD, "Fed holds rates steady", "Fed holds rates steady"]
    body = {"texts": texts, "tickers": [[], [], ["tsla"]]}
    answer = client.post("/v1/classify", json=body, headers=auth(token))
    assert answer.status_code == 200, answer.text
    ford, nothing, explicit = answer.json()["predictions"]
    assert ford["score"] == 0.93 and ford["sentiment_label"] == "positive"  # the document's own reading
    assert ford["symbols"] == [
        {"symbol": "F", "sentiment": 1, "sentiment_label": "positive", "score": 0.8, "source": "mention",
         "relevance": 100, "mentions": [{"start": 0, "end": 4, "kind": "name"}]},
        {"symbol": "GM", "sentiment": -1, "sentiment_label": "negative", "score": -0.7, "source": "mention",
         "relevance": ford["symbols"][1]["relevance"], "mentions": [{"start": 33, "end": 47, "kind": "name"}]},
    ]  # fmt: skip
    assert 50 < ford["symbols"][1]["relevance"] < 100
    assert nothing["symbols"] == []
    assert explicit["symbols"] == [
        {"symbol": "TSLA", "sentiment": 1, "sentiment_label": "positive", "score": 0.93, "source": "document",
         "relevance": EXPLICIT_ONLY_RELEVANCE, "mentions": []},
    ]  # fmt: skip
    assert (model.tokenised, model.passes, model.predicted) == (1, 1, 0)  # counted once, scored once


def test_tickers_must_come_one_list_per_text(client: TestClient, token: str) -> None:
    answer = client.post("/v1/classify", json={"texts": [FORD, FORD], "tickers": [["F"]]}, headers=auth(token))
    assert answer.status_code == 422 and "1 lists for 2 texts" in answer.text
    too_many = {"texts": [FORD], "tickers": [["F"] * 51]}
    assert client.post("/v1/classify", json=too_many, headers=auth(token)).status_code == 422


def test_symbols_and_mentions_per_text_are_capped(client: TestClient, token: str) -> None:
    tickers = [f"$Q{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(DEFAULT_MAX_SYMBOLS + 20)]
    text = " ".join(tickers * 3)
    answer = client.post("/v1/classify", json={"texts": [text]}, headers=auth(token))
    assert answer.status_code == 200, answer.text
    (prediction,) = answer.json()["predictions"]
    assert len(prediction["symbols"]) == DEFAULT_MAX_SYMBOLS
    assert {len(s["mentions"]) for s in prediction["symbols"]} == {3}
    assert max(s["relevance"] for s in prediction["symbols"]) < 25  # a list of seventy tickers is about none
    repeated = " ".join(["$NVDA"] * 40)
    (alone,) = client.post("/v1/classify", json={"texts": [repeated]}, headers=auth(token)).json()["predictions"]
    assert len(alone["symbols"][0]["mentions"]) == MENTIONS_SCORED_PER_SYMBOL
