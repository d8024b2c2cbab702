"""Run one finsent worker: broker (embedded unless configured), store, model, Faust agent."""

from __future__ import annotations

import logging
import threading
from contextlib import ExitStack

from alerts.engine import AlertEngine
from alerts.grafana import Grafana
from alerts.history import StoreHistory
from alerts.outbox import Outbox, run_delivery
from alerts.rules import RuleBook, editable_rules_file
from finsent.settings import Settings
from models import load_classifier
from storage import Store, open_store
from streams.app import Alerting, create_app
from streams.broker import EmbeddedBroker, free_port
from streams.pipeline import BatchProcessor
from streams.symbols import SymbolExtractor
from streams.watchdog import BrokerWatchdog

log = logging.getLogger(__name__)


def run_worker(settings: Settings) -> None:
    """Start consuming and block until SIGINT/SIGTERM; cleans up the broker and store it opened."""
    from faust.worker import Worker

    with ExitStack() as stack:
        bootstrap = settings.kafka_bootstrap
        if not bootstrap:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            broker = stack.enter_context(EmbeddedBroker(log_file=settings.data_dir / "tansu.log"))
            bootstrap = broker.bootstrap
            log.warning(
                "FINSENT_KAFKA_BOOTSTRAP is unset: started an in-memory broker at %s "
                "(feed it with FINSENT_KAFKA_BOOTSTRAP=%s finsent replay ...)",
                bootstrap,
                bootstrap,
            )
        watchdog = BrokerWatchdog(bootstrap, settings.kafka_unavailable_exit_s).start()
        stack.callback(watchdog.stop)
        store = stack.enter_context(open_store(settings.resolved_store_url))
        store.init_schema()
        classifier = load_classifier(
            settings.model,
            device=settings.device,
            backend=settings.model_backend,
            max_windows=settings.model_max_windows,
        )
        processor = BatchProcessor(
            classifier,
            store.existing_documents,
            SymbolExtractor.default(),
            settings.author_hash_key.get_secret_value().encode(),
        )
        web_port = settings.web_port or free_port()
        alerting = _alerting(settings, store, stack) if settings.alerts_enabled else None
        app, _ = create_app(settings, bootstrap, store, processor, web_port, alerting)
        log.info(
            "worker %s: store %s, model %s, stats at http://127.0.0.1:%d/finsent/stats",
            settings.consumer_group,
            store.description,
            classifier.model_version,
            web_port,
        )
        Worker(app, loglevel=settings.log_level, quiet=True, redirect_stdouts=False).execute_from_commandline()


def _alerting(settings: Settings, store: Store, stack: ExitStack) -> Alerting:
    """The rule engine over the rules file, its outbox, and (with FINSENT_GRAFANA_URL) the delivery thread."""
    book = RuleBook(editable_rules_file(settings.data_dir, settings.alert_rules_file))
    log.info("alert rules: %d from %s (watching %s)", len(book.rules), book.source, book.path)
    grafana = Grafana.from_settings(settings) if settings.grafana_url else None
    outbox = Outbox(store, grafana)
    if grafana is not None:
        stop = threading.Event()
        thread = threading.Thread(target=run_delivery, args=(outbox, stop), name="alert-delivery", daemon=True)
        thread.start()
        stack.callback(thread.join, timeout=10)
        stack.callback(stop.set)
        log.info("delivering alerts to Grafana at %s", grafana.url)
    else:
        log.info("FINSENT_GRAFANA_URL is unset: alerts are stored and stay pending for a later delivery")
    return Alerting(AlertEngine(lambda: book.rules, StoreHistory(store)), outbox)
