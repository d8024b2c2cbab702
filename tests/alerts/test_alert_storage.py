"""The store's alert methods on both backends: versions replace, pending order, round trips."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from schemas.alerts import AlertRow
from storage import Store, open_store
from storage.alerts import alerts_by_id, alerts_in_state, count_alerts, insert_alerts


@pytest.fixture(params=[pytest.param(name, marks=pytest.mark.integration) for name in ("chdb", "clickhouse")])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An initialised store on chdb and on clickhouse-server 18.16; emptied and closed afterwards."""
    url = f"chdb://{tmp_path / 'chdb'}" if request.param == "chdb" else request.getfixturevalue("clickhouse_url")
    store = open_store(url)
    try:
        store.init_schema()
        yield store
        if request.param == "clickhouse":
            store.drop_all()
    finally:
        store.close()


def test_alert_rows_round_trip_and_later_versions_win(any_store: Store, make_alert) -> None:
    alerts = [
        make_alert(i % 3, symbol=f"S{i}", headlines=[] if i == 0 else ['it\'s "quoted" \\ ünïcode 📉', "b"])
        for i in range(5)
    ]
    rows = [AlertRow.pending(alert) for alert in alerts]
    insert_alerts(any_store, rows)
    insert_alerts(any_store, [])

    order = [a.alert_id for a in sorted(alerts, key=lambda a: (a.fired_at, a.alert_id))]
    assert [row.alert_id for row in alerts_in_state(any_store, "pending", limit=10)] == order
    assert [row.alert_id for row in alerts_in_state(any_store, "pending", limit=2)] == order[:2]

    delivered = rows[0].next_version(delivery_state="delivered", delivery_attempts=1, annotation_id=42)
    insert_alerts(any_store, [delivered, rows[1].next_version(delivery_attempts=3)])
    assert (count_alerts(any_store), count_alerts(any_store, "pending"), count_alerts(any_store, "delivered")) == (
        5,
        4,
        1,
    )
    assert alerts[0].alert_id not in [row.alert_id for row in alerts_in_state(any_store, "pending", limit=10)]

    found = alerts_by_id(any_store, [alerts[0].alert_id, alerts[1].alert_id, alerts[2].alert_id, "unknown"])
    assert set(found) == {alerts[0].alert_id, alerts[1].alert_id, alerts[2].alert_id}
    assert found[alerts[0].alert_id] == delivered
    assert found[alerts[1].alert_id].delivery_attempts == 3
    assert found[alerts[2].alert_id].record() == alerts[2]
    assert found[alerts[2].alert_id].fired_at == alerts[2].fired_at and alerts[2].fired_at.utcoffset() == timedelta(0)
