"""Per-symbol rows: each (document, symbol) row carries the text's sentiment toward the symbol and
its relevance, on Kafka and in the store, while the document keeps its own score.

The model is a fake whose entity reading says the first company of a text did well and the others
badly (the issue's "tried as a new user" headlines); with no entity head (``predict`` only) every
symbol gets the document's values and says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from config.routes import Route
from models.entities.relevance import EXPLICIT_ONLY_RELEVANCE
from models.follow import FixedModel
from schemas import ScoreRecord
from schemas.alerts import AlertInput
from storage import Store, open_store
from storage.stories import StoryRepository
from streams.handler import BatchHandler, OutputTopics
from streams.pipeline import BatchProcessor, BatchResult, IncomingMessage
from streams.routing import Router
from streams.stories import StoryAssigner
from tests.fakes.entity_models import CopyingModel, FirstWinsModel, ServedEntityModel
from tests.streams.test_pipeline import NOW, news

FORD = "Ford beats estimates while rival General Motors misses and cuts its outlook"
AMAZON = "Amazon wins $10bn cloud contract, Oracle loses bid"
TOPICS = OutputTopics(scores="scores", dead_letters="dead", alert_inputs=None)


class Producer:
    def __init__(self) -> None:
        self.sent: dict[str, list[tuple[bytes | None, bytes]]] = {}

    async def send(self, topic: str, messages: Sequence[tuple[bytes | None, bytes]]) -> None:
        self.sent.setdefault(topic, []).extend(messages)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"chdb://{tmp_path / 'chdb'}") as opened:
        opened.init_schema()
        yield opened


def _handle(
    store: Store, model: object, messages: list[IncomingMessage], stories: StoryAssigner | None = None
) -> tuple[BatchResult, list[ScoreRecord]]:
    producer = Producer()
    processor = BatchProcessor(model, store.existing_documents, clock=lambda: NOW, stories=stories)  # type: ignore[arg-type]

    async def ack() -> None:
        return None

    result = asyncio.run(BatchHandler(store, producer, processor, TOPICS).handle(messages, ack))
    return result, [ScoreRecord.model_validate_json(value) for _, value in producer.sent["scores"]]


def _stored_scores(store: Store) -> dict[tuple[str, str], tuple[Any, ...]]:
    rows = store._query(
        "SELECT doc_id, symbol, symbol_sentiment, round(toFloat64(symbol_score), 3), toString(symbol_source),"
        " relevance, round(toFloat64(score), 3) FROM scores FINAL"
    )
    return {(row[0], row[1]): tuple(row[2:]) for row in rows}


def _stored_documents(store: Store) -> dict[str, tuple[Any, ...]]:
    rows = store._query(
        "SELECT doc_id, symbols, symbol_sentiments, arrayMap(x -> round(toFloat64(x), 3), symbol_scores),"
        " arrayMap(x -> toString(x), symbol_sources), relevances, round(toFloat64(score), 3) FROM documents FINAL"
    )
    return {row[0]: tuple(row[1:]) for row in rows}


def test_companies_of_one_headline_are_stored_with_opposite_sentiments(store: Store) -> None:
    model = FirstWinsModel()
    _, records = _handle(store, model, [news("n1", FORD), news("n2", AMAZON)])
    assert (model.passes, model.predicted) == (1, 0)  # one pass for the batch, mentions included
    assert model.spans == [[(0, 4), (33, 47)], [(0, 6), (34, 40)]]
    on_kafka = {(r.symbol, r.symbol_sentiment, r.symbol_score, r.symbol_source, r.score) for r in records}
    assert {(s, sentiment, source) for s, sentiment, _, source, _ in on_kafka} == {
        ("F", 1, "mention"), ("GM", -1, "mention"), ("AMZN", 1, "mention"), ("ORCL", -1, "mention"),
    }  # fmt: skip
    assert {score for *_, score in on_kafka} == {0.93}  # every record keeps the document's score beside it
    stored = _stored_scores(store)
    assert stored[("news:wire:n1", "F")][:3] == (1, 0.8, "mention")
    assert stored[("news:wire:n1", "GM")][:3] == (-1, -0.7, "mention")
    assert stored[("news:wire:n2", "ORCL")][:3] == (-1, -0.7, "mention")
    assert {row[-1] for row in stored.values()} == {0.93}
    documents = _stored_documents(store)
    assert documents["news:wire:n1"][:4] == (["F", "GM"], [1, -1], [0.8, -0.7], ["mention", "mention"])
    assert documents["news:wire:n1"][-1] == 0.93  # the document row keeps the document's score
    relevances = dict(zip(documents["news:wire:n2"][0], documents["news:wire:n2"][4], strict=True))
    assert relevances["AMZN"] > relevances["ORCL"] > 50  # both headline subjects; Amazon leads


def test_per_symbol_rows_of_a_syndicated_copy_carry_its_story_too(store: Store) -> None:
    stories = StoryAssigner(StoryRepository(store))
    _, records = _handle(store, FirstWinsModel(), [news("n1", FORD), news("n2", f"{FORD} (Reuters)")], stories)
    by_key = {(r.doc_id, r.symbol): r for r in records}
    for symbol, sentiment in (("F", 1), ("GM", -1)):
        first, copy = by_key[("news:wire:n1", symbol)], by_key[("news:wire:n2", symbol)]
        assert (first.symbol_sentiment, first.story_id, first.novelty) == (sentiment, "news:wire:n1", 100)
        assert (copy.symbol_sentiment, copy.story_id) == (sentiment, "news:wire:n1") and copy.novelty < 100
        assert min(first.relevance, copy.relevance) > 50  # both headline subjects in either text
    rows = store._query("SELECT doc_id, symbols, symbol_sentiments, relevances, story_id, novelty FROM documents FINAL")
    stored = {row[0]: row[1:] for row in rows}
    assert stored["news:wire:n1"][:2] == stored["news:wire:n2"][:2] == (["F", "GM"], [1, -1])
    assert stored["news:wire:n1"][3:] == ("news:wire:n1", 100)
    assert stored["news:wire:n2"][3] == "news:wire:n1" and stored["news:wire:n2"][4] < 100
    gm_record = by_key[("news:wire:n2", "GM")]
    gm_input = AlertInput.model_validate(dict(AlertInput.fields_of(gm_record))["symbol:GM"])
    assert (gm_input.sentiment, gm_input.relevance, gm_input.novel) == (-1, gm_record.relevance, False)


def test_without_an_entity_head_every_symbol_keeps_the_document_values(store: Store) -> None:
    _, records = _handle(store, CopyingModel(), [news("n1", FORD)])
    assert {(r.symbol, r.symbol_sentiment, r.symbol_score, r.symbol_source) for r in records} == {
        ("F", 1, 0.93, "document"), ("GM", 1, 0.93, "document"),
    }  # fmt: skip
    assert _stored_documents(store)["news:wire:n1"][1:4] == ([1, 1], [0.93, 0.93], ["document", "document"])


def test_an_explicit_only_ticker_keeps_the_document_values(store: Store) -> None:
    result, records = _handle(store, FirstWinsModel(), [news("n1", FORD, tickers=["TSLA"])])
    tesla = next(r for r in records if r.symbol == "TSLA")
    assert (tesla.symbol_sentiment, tesla.symbol_score, tesla.symbol_source) == (1, 0.93, "document")
    assert tesla.relevance == EXPLICIT_ONLY_RELEVANCE
    (row,) = result.documents
    assert row.symbols == ["F", "GM", "TSLA"] and row.symbol_sources == ["mention", "mention", "document"]
    assert _stored_scores(store)[("news:wire:n1", "TSLA")][2:4] == ("document", EXPLICIT_ONLY_RELEVANCE)


def test_a_document_naming_no_symbol_has_one_record_with_its_own_values(store: Store) -> None:
    result, (record,) = _handle(store, FirstWinsModel(), [news("n1", "Fed holds rates steady")])
    assert (record.symbol, record.symbol_sentiment, record.symbol_score, record.symbol_source) == (
        "",
        1,
        0.93,
        "document",
    )
    assert result.documents[0].symbols == [] and result.documents[0].relevances == []


def test_a_body_mention_is_read_at_its_place_in_the_scored_text(store: Store) -> None:
    model = FirstWinsModel()
    message = news("n1", "Carmakers report", body="Ford beat estimates. General Motors missed.")
    _handle(store, model, [message])
    text = "Carmakers report\nFord beat estimates. General Motors missed."
    assert [text[s:e] for s, e in model.spans[0]] == ["Ford", "General Motors"]


def test_news_routed_to_a_model_without_an_entity_head_has_its_mentions_read_by_the_served_model(
    store: Store,
) -> None:
    served, teacher = ServedEntityModel(), CopyingModel()
    router = Router(FixedModel(served), [(Route("news", None, "finsent-mpnet"), FixedModel(teacher))])
    _, records = _handle(store, router, [news("n1", FORD)])
    assert (teacher.predicted, served.passes) == (1, 1)  # the teacher scores the document, the student its mentions
    assert {(r.symbol, r.symbol_sentiment, r.symbol_source, r.model_version) for r in records} == {
        ("F", 1, "mention", "fake-v1"), ("GM", -1, "mention", "fake-v1"),
    }  # fmt: skip
