"""The outbox on chdb against the fake Grafana: outages, crashes and slow answers never drop or duplicate."""

from __future__ import annotations

import random
import threading
from collections import Counter

import pytest

from alerts.grafana import Grafana
from alerts.outbox import DeliveryReport, Outbox, backoff_delay, run_delivery
from schemas.alerts import AlertRecord
from storage import Store, StoreUnavailable
from storage.alerts import alerts_by_id, count_alerts
from tests.fakes.grafana import TOKEN, FakeGrafana

pytestmark = pytest.mark.integration


def delivery_order(alerts: list[AlertRecord]) -> list[str]:
    return [a.alert_id for a in sorted(alerts, key=lambda a: (a.fired_at, a.alert_id))]


def posted_alert_ids(fake: FakeGrafana) -> list[str]:
    """Alert ids of the annotations the fake holds, in the order they were created."""
    return [tag.removeprefix("alert:") for a in fake.annotations for tag in a["tags"] if tag.startswith("alert:")]


def test_alerts_raised_during_an_outage_are_delivered_once_each_in_order(
    alert_store: Store, grafana: Grafana, fake_grafana: FakeGrafana, make_alert
) -> None:
    # 100 alerts, two per minute for some symbols, enqueued in shuffled batches while Grafana is down.
    alerts = [make_alert(i // 2, symbol=f"S{i % 7}") for i in range(100)]
    assert len({a.alert_id for a in alerts}) == 100
    shuffled = random.Random(7).sample(alerts, k=len(alerts))
    outbox = Outbox(alert_store, grafana, batch_size=30)
    fake_grafana.down()
    assert sum(outbox.enqueue(shuffled[i : i + 25]) for i in range(0, 100, 25)) == 100

    for _ in range(2):
        report = outbox.deliver_pending()
        assert report.interrupted and report.delivered == 0 and "Connection refused" in (report.error or "")
    pending = outbox.pending(limit=1_000)
    assert [row.alert_id for row in pending] == delivery_order(alerts)
    assert [row.delivery_attempts for row in pending[:2]] == [2, 0]  # only the head was tried
    assert count_alerts(alert_store, "pending") == 100

    fake_grafana.up()
    report = outbox.deliver_pending()
    assert (report.posted, report.found, report.failed, report.interrupted) == (100, 0, 0, False)
    assert posted_alert_ids(fake_grafana) == delivery_order(alerts)
    assert count_alerts(alert_store, "delivered") == count_alerts(alert_store) == 100
    stored = alerts_by_id(alert_store, [a.alert_id for a in alerts])
    by_alert = {tag.removeprefix("alert:"): a["id"] for a in fake_grafana.annotations for tag in a["tags"]}
    assert all(stored[alert_id].annotation_id == by_alert[alert_id] for alert_id in stored)

    posts_before = len(fake_grafana.calls("POST"))
    assert outbox.deliver_pending().delivered == 0
    assert outbox.enqueue(alerts) == 0  # re-raising delivered alerts does not queue them again
    assert outbox.deliver_pending().delivered == 0
    assert len(fake_grafana.calls("POST")) == posts_before
    assert fake_grafana.violations == []


def test_a_crash_between_post_and_mark_does_not_duplicate(
    alert_store: Store, grafana: Grafana, fake_grafana: FakeGrafana, make_alert, monkeypatch
) -> None:
    alerts = [make_alert(i) for i in range(6)]
    outbox = Outbox(alert_store, grafana)
    outbox.enqueue(alerts)

    class Crash(BaseException):
        pass

    real_post, posted = grafana.post_annotation, []

    def post_then_crash(alert: AlertRecord) -> int:
        annotation_id = real_post(alert)
        posted.append(alert.alert_id)
        if len(posted) == 4:
            raise Crash  # the process dies right after Grafana stored the 4th annotation
        return annotation_id

    with monkeypatch.context() as patch:
        patch.setattr(grafana, "post_annotation", post_then_crash)
        patch.setattr("alerts.outbox.insert_alerts", lambda store, rows: None)  # and nothing reached the store
        with pytest.raises(Crash):
            outbox.deliver_pending()
    assert count_alerts(alert_store, "pending") == 6 and len(fake_grafana.annotations) == 4

    report = outbox.deliver_pending()
    assert (report.found, report.posted) == (4, 2)
    assert Counter(posted_alert_ids(fake_grafana)) == Counter(a.alert_id for a in alerts)
    assert count_alerts(alert_store, "delivered") == 6
    assert fake_grafana.violations == []


def test_a_post_that_times_out_but_lands_is_not_posted_again(
    alert_store: Store, grafana: Grafana, fake_grafana: FakeGrafana, make_alert
) -> None:
    alerts = [make_alert(i) for i in range(3)]
    impatient = Outbox(alert_store, Grafana(fake_grafana.url, TOKEN, timeout_s=0.2))
    impatient.enqueue(alerts)
    fake_grafana.slow(1.0, method="POST")  # Grafana stores the annotation after the client gave up
    report = impatient.deliver_pending()
    assert report.interrupted and report.delivered == 0
    fake_grafana.wait_idle(seen=1, method="POST")
    fake_grafana.up()
    # The retry uses the normal timeout: on a loaded machine 0.2 s can also cut off a healthy request.
    report = Outbox(alert_store, grafana).deliver_pending()
    assert (report.found, report.posted) == (1, 2)
    assert sorted(posted_alert_ids(fake_grafana)) == sorted(a.alert_id for a in alerts)
    assert fake_grafana.violations == []


def test_grafana_503_keeps_alerts_pending_and_a_permanent_refusal_marks_failed(
    alert_store: Store, grafana: Grafana, fake_grafana: FakeGrafana, make_alert, monkeypatch
) -> None:
    alerts = [make_alert(i) for i in range(3)]
    outbox = Outbox(alert_store, grafana)
    outbox.enqueue(alerts)
    fake_grafana.down(503)
    assert outbox.deliver_pending().interrupted
    assert count_alerts(alert_store, "pending") == 3
    fake_grafana.up()

    real_post = grafana.post_annotation
    poisoned = alerts[1].alert_id

    def refuse_one(alert: AlertRecord) -> int:
        if alert.alert_id == poisoned:  # e.g. a text Grafana refuses: 400, whatever the retry
            return grafana._call("post", grafana.api.client.POST, "/annotations", json={"text": ""})
        return real_post(alert)

    monkeypatch.setattr(grafana, "post_annotation", refuse_one)
    report = outbox.deliver_pending()
    assert (report.posted, report.failed, report.interrupted) == (2, 1, False)
    assert alerts_by_id(alert_store, [poisoned])[poisoned].delivery_state == "failed"
    assert count_alerts(alert_store, "delivered") == 2 and outbox.pending() == []

    monkeypatch.setattr(grafana, "post_annotation", real_post)  # the cause is fixed: retry the failed one
    assert outbox.retry_failed() == 1 and [row.alert_id for row in outbox.pending()] == [poisoned]
    assert outbox.deliver_pending().posted == 1
    assert count_alerts(alert_store, "delivered") == 3 and len(fake_grafana.annotations) == 3
    assert fake_grafana.violations == []


def test_run_delivery_delivers_once_grafana_is_back(
    alert_store: Store, grafana: Grafana, fake_grafana: FakeGrafana, make_alert
) -> None:
    outbox = Outbox(alert_store, grafana)
    fake_grafana.down()
    outbox.enqueue([make_alert(i) for i in range(5)])
    stop = threading.Event()
    worker = threading.Thread(target=run_delivery, args=(outbox, stop, 0.05, 0.2), daemon=True)
    worker.start()
    try:
        stop.wait(0.3)
        assert count_alerts(alert_store, "pending") == 5
        fake_grafana.up()
        for _ in range(100):
            if count_alerts(alert_store, "delivered") == 5:
                break
            stop.wait(0.05)
    finally:
        stop.set()
        worker.join(timeout=5)
    assert not worker.is_alive()
    assert len(fake_grafana.annotations) == 5
    assert fake_grafana.violations == []


class ScriptedOutbox:
    """Stands in for an Outbox: each round fails or succeeds as scripted."""

    def __init__(self, script: list[str]) -> None:
        self.script = script

    def deliver_pending(self) -> DeliveryReport:
        step = self.script.pop(0) if self.script else "ok"
        if step == "store-down":
            raise StoreUnavailable("ClickHouse is down")
        return DeliveryReport(interrupted=step == "grafana-down")


class RecordingStop(threading.Event):
    """A stop event that records each wait and stops the loop after ``rounds`` of them."""

    def __init__(self, rounds: int) -> None:
        super().__init__()
        self.rounds, self.waits = rounds, []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        if len(self.waits) >= self.rounds:
            self.set()
        return self.is_set()


def test_run_delivery_backs_off_exponentially_up_to_the_cap_and_resets() -> None:
    script = ["grafana-down", "store-down", "grafana-down", "grafana-down", "grafana-down", "ok", "grafana-down"]
    stop = RecordingStop(rounds=len(script))
    run_delivery(ScriptedOutbox(script), stop, interval_s=0.5, max_backoff_s=3.0)  # type: ignore[arg-type]
    assert stop.waits == [1.0, 2.0, 3.0, 3.0, 3.0, 0.5, 1.0]


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff_delay(n, 0.5, 30.0) for n in range(8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert backoff_delay(10_000, 1.0, 60.0) == 60.0


def test_without_grafana_alerts_are_not_configured_until_one_delivers_them(
    alert_store: Store, grafana: Grafana, fake_grafana: FakeGrafana, make_alert
) -> None:
    outbox = Outbox(alert_store, None)
    assert outbox.enqueue([make_alert(0), make_alert(0), make_alert(1)]) == 2
    assert outbox.deliver_pending().delivered == 0
    assert count_alerts(alert_store, "not_configured") == 2 and count_alerts(alert_store, "pending") == 0
    assert len(outbox.pending()) == 2
    assert Outbox(alert_store, grafana).deliver_pending().delivered == 2  # Grafana configured later
    assert count_alerts(alert_store, "delivered") == 2 and len(fake_grafana.annotations) == 2
