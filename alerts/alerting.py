"""A worker's alerting: the rule engine over the rules file, its outbox and the Grafana delivery thread.

The Faust side (the ``evaluate_alerts`` agent that feeds the engine and fills the outbox) is
``streams.alert_agent``; this package keeps the rules, the engine, the history and the delivery.
With ``FINSENT_GRAFANA_URL`` set, a thread delivers the outbox to Grafana as annotations.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass

from alerts.engine import AlertEngine, ClassMix
from alerts.grafana import Grafana
from alerts.history import StoreHistory
from alerts.outbox import Outbox, run_delivery
from alerts.rules import RuleBook
from config.components import AlertSettings
from config.settings import mask_url
from storage import Store

log = logging.getLogger(__name__)


@dataclass
class Alerting:
    """The rule engine and the outbox its alerts go to."""

    engine: AlertEngine
    outbox: Outbox


def start_alerting(
    settings: AlertSettings, store: Store, stack: ExitStack, reference_mix: Callable[[], ClassMix | None] = lambda: None
) -> Alerting:
    """The rule engine over the rules file, its outbox, and (with FINSENT_GRAFANA_URL) the delivery thread.

    ``reference_mix`` gives the serving model's validation class mix, for ``model_psi`` rules.
    """
    book = RuleBook(settings.rules_file)
    log.info("alert rules: %d from %s (watching %s)", len(book.rules), book.source, book.path)
    grafana = Grafana.from_settings(settings.grafana) if settings.grafana.url else None
    outbox = Outbox(store, grafana)
    if grafana is not None:
        stop = threading.Event()
        thread = threading.Thread(target=run_delivery, args=(outbox, stop), name="alert-delivery", daemon=True)
        thread.start()
        stack.callback(thread.join, timeout=10)
        stack.callback(stop.set)
        log.info("delivering alerts to Grafana at %s", mask_url(grafana.url))
    else:
        log.info("FINSENT_GRAFANA_URL is unset: alerts are stored and stay pending for a later delivery")
    return Alerting(AlertEngine(lambda: book.rules, StoreHistory(store), reference_mix), outbox)
