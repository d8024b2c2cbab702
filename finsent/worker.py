"""Run one finsent worker: broker (embedded unless configured), store, model, the classify and alert agents."""

from __future__ import annotations

import gc
import logging
from contextlib import ExitStack

from alerts.alerting import start_alerting
from config import Settings
from config.files import private_dir
from finsent.dev.broker import EmbeddedBroker, free_port
from learning.drift import serving_reference
from learning.registry import Registry
from learning.serving import model_loader, route_sources, routes_in_force, serving_models
from learning.shadow import ShadowScorer
from models.entities import SymbolExtractor
from models.follow import FixedModel, ModelFollower
from storage import open_store
from storage.stories import StoryRepository
from streams.alert_agent import add_alert_agent
from streams.app import create_app
from streams.pipeline import BatchProcessor
from streams.routing import Router
from streams.stories import StoryAssigner
from streams.watchdog import BrokerWatchdog

log = logging.getLogger(__name__)


def run_worker(settings: Settings) -> None:
    """Start consuming and block until SIGINT/SIGTERM; cleans up the broker and store it opened."""
    from faust.worker import Worker

    routes_in_force(settings.routing, settings.classifier)  # a malformed FINSENT_ROUTES stops here, first
    with ExitStack() as stack:
        bootstrap = settings.kafka_bootstrap
        if not bootstrap:
            private_dir(settings.data_dir)
            broker = stack.enter_context(EmbeddedBroker(log_file=settings.data_dir / "tansu.log"))
            bootstrap = broker.bootstrap
            log.warning(
                "FINSENT_KAFKA_BOOTSTRAP is unset: started an in-memory broker at %s "
                "(feed it with FINSENT_KAFKA_BOOTSTRAP=%s finsent replay ...)",
                bootstrap,
                bootstrap,
            )
        watchdog = BrokerWatchdog(bootstrap, settings.kafka.unavailable_exit_s).start()
        stack.callback(watchdog.stop)
        store = stack.enter_context(open_store(settings.resolved_store_url))
        store.init_schema()
        store.share()
        kafka, batching, alerting = settings.kafka, settings.batching, settings.alerting
        models = serving_models(store, settings.learning, settings.classifier)
        if isinstance(models, ModelFollower):
            stack.callback(models.stop)
        processor = BatchProcessor(
            worker_router(settings, models),
            store.existing_documents,
            SymbolExtractor.default(),
            settings.author_hash_key.get_secret_value().encode(),
            max_future_skew_s=batching.max_future_skew_s,
            stories=StoryAssigner(StoryRepository(store)) if settings.stories_enabled else None,
        )
        shadow = ShadowScorer(
            Registry(store, settings.learning.registry_dir), model_loader(settings.classifier), settings.learning.poll_s
        ).start()
        stack.callback(shadow.stop)
        web_port = settings.web_port or free_port()
        app, stats = create_app(
            kafka, batching, settings.data_dir, bootstrap, store, processor, web_port, alerting.enabled,
            after_batch=lambda result: shadow.offer(result.documents),
        )  # fmt: skip
        if alerting.enabled:
            alerts = start_alerting(alerting, store, stack, serving_reference(models))
            add_alert_agent(app, kafka.topics, batching, alerts.engine, alerts.outbox, stats)
        log.info(
            "worker %s: store %s, routes %s, stats at http://127.0.0.1:%d/finsent/stats",
            settings.consumer_group,
            store.description,
            {name: figures.model for name, figures in processor.router.snapshot().items()},
            web_port,
        )
        # What is loaded by now (models, vocabularies, Faust, the schemas) lives as long as the worker:
        # out of the collector's sight, the full collections a batch's allocations set off skip it.
        # Start-up's garbage goes first, or it would be kept for good.
        gc.collect()
        gc.freeze()
        Worker(app, loglevel=settings.log_level, quiet=True, redirect_stdouts=False).execute_from_commandline()


def worker_router(settings: Settings, served: FixedModel | ModelFollower) -> Router:
    """The routes of ``settings`` over ``served`` (the default route), each other model loaded once."""
    routing = settings.routing
    sources = route_sources(routing, settings.classifier, served)
    routes = [(route, sources[route.model]) for route in routes_in_force(routing, settings.classifier)]
    return Router(served, routes, sources[routing.fallback], routing.backlog_s, routing.recover_s)
