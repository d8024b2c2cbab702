"""Routes in the stream: which model scores each document of a batch, and the fallback under a backlog.

A ``Router`` sends each document to its route's model (``config.routes``: by kind, or kind and
source; unrouted documents to the default, the served model). A route falls back to the fallback
model while it is behind: once the oldest of its documents in a batch has waited ``backlog_s`` in
Kafka, and until the oldest waits less than ``recover_s`` (the gap between the two keeps it from
flapping). Time waited, not consumer lag, is the signal: it is what a late alert costs, it is
per document (so per route, even for routes that share a topic), and it means the same whatever
the model's speed, the partitions or the number of workers.

``plan`` splits a batch: one part per model actually used (routes sharing a model share the
pass), each model taken once per batch, so a hot swap of the default model lands between batches.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from config.routes import Route, RouteTable
from models.follow import FixedModel, ModelFollower, ModelSource, Scorer, model_source

log = logging.getLogger(__name__)
DEFAULT_ROUTE = "default"
"""The route of documents that no configured route names: the served model."""


@dataclass(frozen=True, slots=True)
class RouteInput:
    """What routing needs of a document: its kind, its source and how long it has waited (None: unknown)."""

    kind: str
    source: str
    waited_s: float | None


@dataclass
class RouteState:
    """One route: its model, whether it is on the fallback now, and what it has scored."""

    model: ModelSource
    can_fall_back: bool
    fallen_back: bool = False
    fallbacks: int = 0
    """How many times the route has fallen back (episodes, not documents)."""
    documents: dict[str, int] = field(default_factory=dict)
    """Documents scored, by the model version that scored them."""


@dataclass(frozen=True)
class RouteFigures:
    """What a route has done, as served on the stats page and as metrics."""

    model: str
    """The version of the route's own model."""
    fallback: bool
    """Whether its documents go to the fallback model now."""
    fallbacks: int
    documents: dict[str, int]
    """Documents scored, by the version of the model that scored them."""


class Router:
    """Picks the model for each document of a batch; see the module docstring."""

    def __init__(
        self,
        default: ModelSource,
        routes: Sequence[tuple[Route, ModelSource]] = (),
        fallback: ModelSource | None = None,
        backlog_s: float = 30.0,
        recover_s: float = 10.0,
    ) -> None:
        self.fallback = fallback if fallback is not None else default
        self.backlog_s = backlog_s
        self.recover_s = recover_s
        self._table = RouteTable([route for route, _ in routes])
        self._states = {DEFAULT_ROUTE: RouteState(default, can_fall_back=default is not self.fallback)}
        for route, model in routes:
            self._states[route.name] = RouteState(model, can_fall_back=model is not self.fallback)
        self._lock = threading.Lock()

    def default_model(self) -> Scorer:
        """The model of the default route at this moment."""
        return self._states[DEFAULT_ROUTE].model.current()

    def route_of(self, kind: str, source: str) -> str:
        """The name of the route a document of ``kind`` from ``source`` takes."""
        route = self._table.route_for(kind, source)
        return DEFAULT_ROUTE if route is None else route.name

    def plan(self, documents: Sequence[RouteInput]) -> list[tuple[Scorer, list[int]]]:
        """The batch as (model, positions of its documents, ascending) pairs, one per model used.

        Updates each route's fallback state from its oldest document and counts the documents.
        """
        by_route: dict[str, list[int]] = {}
        for position, document in enumerate(documents):
            by_route.setdefault(self.route_of(document.kind, document.source), []).append(position)
        taken: dict[int, Scorer] = {}  # each model source asked once: one model per source per batch
        parts: dict[int, tuple[Scorer, list[int]]] = {}
        with self._lock:
            for name, positions in by_route.items():
                waits = [w for w in (documents[p].waited_s for p in positions) if w is not None]
                source = self._source(name, max(waits, default=None))
                model = taken.setdefault(id(source), source.current())
                parts.setdefault(id(model), (model, []))[1].extend(positions)
                counts, version = self._states[name].documents, _version(model)
                counts[version] = counts.get(version, 0) + len(positions)
        return [(model, sorted(positions)) for model, positions in parts.values()]

    def _source(self, name: str, oldest_s: float | None) -> ModelSource:
        state = self._states[name]
        if state.can_fall_back and oldest_s is not None:
            if not state.fallen_back and oldest_s >= self.backlog_s:
                state.fallen_back, state.fallbacks = True, state.fallbacks + 1
                log.warning("route %s is behind (oldest document waited %.1f s): scoring it with the fallback "
                            "model until its oldest waits under %g s", name, oldest_s, self.recover_s)  # fmt: skip
            elif state.fallen_back and oldest_s < self.recover_s:
                state.fallen_back = False
                log.warning("route %s caught up (oldest document waited %.1f s): back on its own model", name, oldest_s)
        return self.fallback if state.fallen_back else state.model

    def snapshot(self) -> dict[str, RouteFigures]:
        """Each route's figures at this moment."""
        with self._lock:
            return {
                name: RouteFigures(
                    _version(state.model.current()), state.fallen_back, state.fallbacks, dict(state.documents)
                )
                for name, state in self._states.items()
            }


def _version(model: Scorer) -> str:
    # A bare scorer without a version (a test double) is still counted, under its class name.
    return getattr(model, "model_version", None) or type(model).__name__


def as_router(model: Router | FixedModel | ModelFollower | Scorer) -> Router:
    """``model`` as a ``Router``: a router as it is, anything else as the default route alone."""
    return model if isinstance(model, Router) else Router(model_source(model))


class RouteCollector(Collector):
    """The router's figures as Prometheus metrics (served by the worker at ``/finsent/metrics``)."""

    def __init__(self, router: Router) -> None:
        self.router = router

    def collect(self) -> Iterator[Metric]:
        documents = CounterMetricFamily(
            "finsent_routed_documents", "documents scored, by route and by the model that scored them",
            labels=["route", "model"],
        )  # fmt: skip
        fallback = GaugeMetricFamily(
            "finsent_route_fallback", "1 while the route is behind and its documents go to the fallback model",
            labels=["route"],
        )  # fmt: skip
        fallbacks = CounterMetricFamily("finsent_route_fallbacks", "times the route fell back", labels=["route"])
        for name, figures in self.router.snapshot().items():
            for version, count in figures.documents.items():
                documents.add_metric([name, version], count)
            fallback.add_metric([name], 1.0 if figures.fallback else 0.0)
            fallbacks.add_metric([name], figures.fallbacks)
        yield from (documents, fallback, fallbacks)
