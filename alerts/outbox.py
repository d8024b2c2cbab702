"""The alert outbox: alerts wait in the ``alerts`` table until Grafana has an annotation for each.

Delivery is in ``fired_at`` order and at most one annotation per alert id, whatever fails:

- an alert is ``pending`` until its annotation exists, then ``delivered`` (with the annotation
  id); ``failed`` only when Grafana refuses its annotation for good (400, 413, 422);
- before posting, the outbox asks Grafana for an annotation tagged with the alert's id, so a
  crash between the post and the state change cannot produce a second annotation;
- when Grafana is down, slow or refuses the token, the round stops at that alert (its attempt
  count goes up) and everything after it stays pending: no alert is skipped or dropped.

State changes insert the alert again with ``version + 1`` (the table is a ReplacingMergeTree).

Run one deliverer per store: the find-then-post check protects against crashes and retries,
not against two processes posting the same alert at the same moment (Grafana has no
idempotency key for annotations). Any number of processes may ``enqueue``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from alerts.exceptions import GrafanaError, GrafanaRejected
from alerts.grafana import Grafana
from schemas.alerts import AlertRecord, AlertRow
from storage import Store, StoreError
from storage.alerts import alerts_by_id, alerts_in_state, insert_alerts

log = logging.getLogger(__name__)

PERMANENT_STATUSES = frozenset({400, 413, 422})
"""Answers to an annotation post that mark the alert ``failed``: the same payload would fail again."""


@dataclass
class DeliveryReport:
    """What one ``deliver_pending`` round did."""

    posted: int = 0
    """Annotations created in this round."""
    found: int = 0
    """Alerts whose annotation already existed (an earlier round posted it but did not record it)."""
    failed: int = 0
    """Alerts Grafana refused for good, now ``failed``."""
    interrupted: bool = False
    """Grafana failed mid-round: the alert at the head of the queue and all after it stay pending."""
    error: str | None = None

    @property
    def delivered(self) -> int:
        """Alerts that became ``delivered`` in this round."""
        return self.posted + self.found


class Outbox:
    """Queue alerts in the store and deliver them to Grafana as annotations, in order, once each.

    With ``grafana=None`` (FINSENT_GRAFANA_URL unset) alerts are stored as ``not_configured``;
    a later outbox that has a Grafana delivers them like pending ones.
    """

    def __init__(self, store: Store, grafana: Grafana | None, *, batch_size: int = 200) -> None:
        self._store = store
        self._grafana = grafana
        self._batch_size = batch_size
        self._round = threading.Lock()

    def enqueue(self, alerts: Sequence[AlertRecord]) -> int:
        """Store ``alerts`` as pending; alerts already stored (any state) are left alone. How many were new."""
        unique = {alert.alert_id: alert for alert in reversed(alerts)}
        stored = alerts_by_id(self._store, list(unique))
        state = "pending" if self._grafana is not None else "not_configured"
        new = [
            AlertRow.pending(alert).model_copy(update={"delivery_state": state})
            for alert_id, alert in unique.items()
            if alert_id not in stored
        ]
        new.sort(key=lambda row: (row.fired_at, row.alert_id))
        insert_alerts(self._store, new)
        return len(new)

    def pending(self, limit: int = 1_000) -> list[AlertRow]:
        """Up to ``limit`` undelivered alerts in delivery order (``fired_at``, then ``alert_id``)."""
        return alerts_in_state(self._store, "pending", "not_configured", limit=limit)

    def retry_failed(self, limit: int = 10_000) -> int:
        """Put alerts Grafana refused for good back in the queue (after fixing the cause); how many."""
        failed = alerts_in_state(self._store, "failed", limit=limit)
        insert_alerts(self._store, [row.next_version(delivery_state="pending") for row in failed])
        return len(failed)

    def deliver_pending(self) -> DeliveryReport:
        """Deliver every pending alert in order; stop at the first Grafana failure (see the module doc)."""
        report = DeliveryReport()
        if self._grafana is None:
            return report
        with self._round:
            seen: set[str] = set()
            while batch := self.pending(self._batch_size):
                if seen.intersection(row.alert_id for row in batch):
                    raise StoreError("alert outbox: delivered alerts are still listed as pending")
                seen.update(row.alert_id for row in batch)
                if not self._deliver_batch(self._grafana, batch, report):
                    break
        return report

    def _deliver_batch(self, grafana: Grafana, batch: list[AlertRow], report: DeliveryReport) -> bool:
        """Deliver ``batch`` in order and record each outcome; False if Grafana failed."""
        updates: list[AlertRow] = []
        try:
            for row in batch:
                try:
                    updates.append(self._deliver_one(grafana, row, report))
                except GrafanaError as exc:
                    updates.append(row.next_version(delivery_attempts=row.delivery_attempts + 1))
                    report.interrupted, report.error = True, str(exc)
                    log.warning("alert outbox: delivery paused at alert %s: %s", row.alert_id, exc)
                    return False
            return True
        finally:
            insert_alerts(self._store, updates)

    def _deliver_one(self, grafana: Grafana, row: AlertRow, report: DeliveryReport) -> AlertRow:
        attempts = row.delivery_attempts + 1
        existing = grafana.find_annotation(row.alert_id)
        if existing is not None:
            report.found += 1
            return row.next_version(delivery_state="delivered", delivery_attempts=attempts, annotation_id=existing)
        try:
            annotation_id = grafana.post_annotation(row.record())
        except GrafanaRejected as exc:
            if exc.status_code not in PERMANENT_STATUSES:
                raise
            report.failed += 1
            log.error("alert outbox: Grafana refused alert %s for good, marked failed: %s", row.alert_id, exc)
            return row.next_version(delivery_state="failed", delivery_attempts=attempts)
        report.posted += 1
        return row.next_version(delivery_state="delivered", delivery_attempts=attempts, annotation_id=annotation_id)


def backoff_delay(failures: int, interval_s: float, max_backoff_s: float) -> float:
    """Seconds to wait after ``failures`` failed rounds in a row: ``interval_s`` doubling, capped."""
    if failures <= 0:
        return interval_s
    return min(max_backoff_s, interval_s * 2 ** min(failures, 32))


def run_delivery(
    outbox: Outbox, stop_event: threading.Event, interval_s: float = 1.0, max_backoff_s: float = 60.0
) -> None:
    """Deliver pending alerts every ``interval_s`` until ``stop_event`` is set; back off while anything fails.

    Blocking: run it in a thread (``threading.Thread(target=run_delivery, args=(...), daemon=True)``).
    """
    failures = 0
    while not stop_event.is_set():
        try:
            report = outbox.deliver_pending()
            ok = not report.interrupted
        except StoreError as exc:
            log.warning("alert outbox: store unavailable, retrying: %s", exc)
            ok = False
        failures = 0 if ok else failures + 1
        stop_event.wait(backoff_delay(failures, interval_s, max_backoff_s))
