"""Routes in the stream: split by kind and source, fallback under a backlog with hysteresis, figures served."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime

import orjson
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from config.routes import Route
from models import Prediction
from models.follow import FixedModel
from schemas import DocumentKind
from streams.pipeline import BatchProcessor, IncomingMessage
from streams.routing import RouteCollector, RouteInput, Router
from streams.stats import route_stats

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class FakeModel:
    """Answers every text with a prediction naming this model; records each call's texts."""

    def __init__(self, version: str, fails_on: str | None = None) -> None:
        self.model_version = version
        self.fails_on = fails_on
        self.calls: list[list[str]] = []

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        self.calls.append(list(texts))
        if self.fails_on is not None and any(self.fails_on in text for text in texts):
            raise RuntimeError("cannot read this one")
        return [Prediction("Earnings", 0.9, 1, "positive", 0.0, 0.1, 0.9, 0.9, self.model_version) for _ in texts]


def news(doc_id: str, headline: str, source: str = "wire", waited_s: float | None = None) -> IncomingMessage:
    payload = {"id": doc_id, "source": source, "published_at": "2026-11-23T11:59:00Z", "headline": headline}
    enqueued = None if waited_s is None else NOW.timestamp() - waited_s
    return IncomingMessage(orjson.dumps(payload), "finsent.news", 0, len(doc_id), DocumentKind.NEWS, enqueued)


def social(doc_id: str, text: str, waited_s: float | None = None) -> IncomingMessage:
    payload = {"id": doc_id, "platform": "x", "author": "@a", "created_at": "2026-11-23T11:58:00Z", "text": text}
    enqueued = None if waited_s is None else NOW.timestamp() - waited_s
    return IncomingMessage(orjson.dumps(payload), "finsent.social", 1, len(doc_id), DocumentKind.SOCIAL, enqueued)


@pytest.fixture
def student() -> FakeModel:
    return FakeModel("student-v1")


@pytest.fixture
def teacher() -> FakeModel:
    return FakeModel("teacher-v1")


def routed(student: FakeModel, teacher: FakeModel, **options: float) -> Router:
    served = FixedModel(student)
    return Router(served, [(Route("news", None, "finsent-mpnet"), FixedModel(teacher))], served, **options)


def processor(router: Router) -> BatchProcessor:
    return BatchProcessor(router, lambda ids: {}, author_key=b"k", clock=lambda: NOW)


def test_a_batch_is_split_by_route_and_rows_keep_input_order(student: FakeModel, teacher: FakeModel) -> None:
    result = processor(routed(student, teacher)).process(
        [social("s1", "Buying $TSLA"), news("n1", "Acme beats"), social("s2", "Selling $AMC"), news("n2", "Acme cuts")]
    )
    assert [(d.doc_id, d.model_version) for d in result.documents] == [
        ("social:x:s1", "student-v1"),
        ("news:wire:n1", "teacher-v1"),
        ("social:x:s2", "student-v1"),
        ("news:wire:n2", "teacher-v1"),
    ]
    assert [(s.doc_id, s.model_version) for s in result.scores if s.symbol] == [
        ("social:x:s1", "student-v1"),
        ("social:x:s2", "student-v1"),
    ]
    assert teacher.calls == [["Acme beats", "Acme cuts"]]  # one pass per model
    assert student.calls == [["Buying $TSLA", "Selling $AMC"]]


def test_a_source_route_beats_its_kinds_route(student: FakeModel, teacher: FakeModel) -> None:
    special = FakeModel("special-v1")
    served = FixedModel(student)
    router = Router(
        served,
        [(Route("news", None, "t"), FixedModel(teacher)), (Route("news", "reuters", "s"), FixedModel(special))],
    )
    result = processor(router).process([news("n1", "Acme beats", source="reuters"), news("n2", "Acme beats")])
    assert [d.model_version for d in result.documents] == ["special-v1", "teacher-v1"]
    assert router.route_of("news", "reuters") == "news:reuters"
    assert router.route_of("social", "x") == "default"


def test_routes_naming_one_model_share_its_pass(student: FakeModel) -> None:
    served = FixedModel(student)
    router = Router(served, [(Route("news", None, "default"), served), (Route("social", None, "default"), served)])
    processor(router).process([news("n1", "Acme beats"), social("s1", "Buying $TSLA")])
    assert student.calls == [["Acme beats", "Buying $TSLA"]]


def test_a_document_that_fails_is_dead_lettered_and_the_rest_keep_their_order(
    student: FakeModel, teacher: FakeModel
) -> None:
    teacher.fails_on = "poison"
    result = processor(routed(student, teacher)).process(
        [news("n1", "Acme beats"), social("s1", "Buying $TSLA"), news("n2", "poison pill"), news("n3", "Acme cuts")]
    )
    assert [d.doc_id for d in result.documents] == ["news:wire:n1", "social:x:s1", "news:wire:n3"]
    assert len(result.dead_letters) == 1 and "classification failed" in result.dead_letters[0].error


def test_a_route_falls_back_under_a_backlog_and_returns_once_it_clears(student: FakeModel, teacher: FakeModel) -> None:
    router = routed(student, teacher, backlog_s=30, recover_s=10)
    batches = [
        [news("n1", "a", waited_s=2)],  # fresh: the teacher
        [news("n2", "b", waited_s=5), news("n3", "c", waited_s=31)],  # the oldest waited past 30 s: fall back
        [news("n4", "d", waited_s=20)],  # under 30 s but not under 10 s: still on the fallback
        [news("n5", "e")],  # no wait known: no change
        [news("n6", "f", waited_s=9)],  # under 10 s: back on the teacher
        [news("n7", "g", waited_s=20)],  # between the thresholds again: stays on the teacher
    ]
    scorer = processor(router)
    versions = [[d.model_version for d in scorer.process(batch).documents] for batch in batches]
    assert versions == [
        ["teacher-v1"],
        ["student-v1", "student-v1"],
        ["student-v1"],
        ["student-v1"],
        ["teacher-v1"],
        ["teacher-v1"],
    ]
    news_route = router.snapshot()["news"]
    assert news_route.fallbacks == 1 and not news_route.fallback
    assert news_route.documents == {"teacher-v1": 3, "student-v1": 4}


def test_social_backlog_does_not_move_news(student: FakeModel, teacher: FakeModel) -> None:
    router = routed(student, teacher)
    result = processor(router).process(
        [social("s1", "Buying $TSLA", waited_s=300), news("n1", "Acme beats", waited_s=1)]
    )
    assert [d.model_version for d in result.documents] == ["student-v1", "teacher-v1"]
    assert not router.snapshot()["news"].fallback
    assert router.snapshot()["default"].fallbacks == 0  # the default route is the fallback: nothing to fall to


def test_the_stats_page_and_the_metric_say_a_route_fell_back(student: FakeModel, teacher: FakeModel) -> None:
    router = routed(student, teacher)
    router.plan([RouteInput("news", "wire", 45.0), RouteInput("social", "x", None)])
    stats = route_stats(router)
    assert stats["news"] == {
        "model": "teacher-v1", "fallback": True, "fallbacks": 1, "documents": {"student-v1": 1}
    }  # fmt: skip
    assert stats["default"]["documents"] == {"student-v1": 1}
    registry = CollectorRegistry()
    registry.register(RouteCollector(router))
    text = generate_latest(registry).decode()
    assert 'finsent_route_fallback{route="news"} 1.0' in text
    assert 'finsent_route_fallback{route="default"} 0.0' in text
    assert 'finsent_routed_documents_total{model="student-v1",route="news"} 1.0' in text
    assert 'finsent_route_fallbacks_total{route="news"} 1.0' in text


def test_a_plain_classifier_is_the_default_route_alone(student: FakeModel) -> None:
    scorer = processor(student)  # type: ignore[arg-type]
    result = scorer.process([news("n1", "Acme beats", waited_s=999), social("s1", "Buying $TSLA")])
    assert [d.model_version for d in result.documents] == ["student-v1", "student-v1"]
    assert scorer.classifier is student
    assert [dataclasses.asdict(f) for f in scorer.router.snapshot().values()] == [
        {"model": "student-v1", "fallback": False, "fallbacks": 0, "documents": {"student-v1": 2}}
    ]


class SwappingSource:
    """A model source whose model changes when told, like a ``ModelFollower`` after a promotion."""

    def __init__(self, model: FakeModel) -> None:
        self.model = model

    def current(self) -> FakeModel:
        return self.model


def test_the_default_route_and_routes_naming_it_follow_a_hot_swap(teacher: FakeModel) -> None:
    served = SwappingSource(FakeModel("student-v1"))
    router = Router(
        served, [(Route("news", None, "finsent-mpnet"), FixedModel(teacher)), (Route("social", "x", "default"), served)]
    )
    scorer = processor(router)
    before = scorer.process([social("s1", "Buying $TSLA"), news("n1", "Acme beats")])
    served.model = FakeModel("student-v2")
    after = scorer.process([social("s2", "Selling $AMC"), news("n2", "Acme cuts")])
    assert [d.model_version for d in before.documents] == ["student-v1", "teacher-v1"]
    assert [d.model_version for d in after.documents] == ["student-v2", "teacher-v1"]
    assert scorer.classifier.model_version == "student-v2"
