"""Fixtures for alerts tests: a fake Grafana, a client for it, a chdb store, alert builders."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alerts.grafana import Grafana
from schemas.alerts import AlertRecord
from storage import Store, open_store
from tests.fakes.grafana import TOKEN, FakeGrafana

T0 = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


@pytest.fixture
def fake_grafana() -> Iterator[FakeGrafana]:
    """A running fake Grafana; its requests are checked against the OpenAPI spec."""
    with FakeGrafana() as fake:
        yield fake
        fake.up()
        fake.wait_idle()


@pytest.fixture
def grafana(fake_grafana: FakeGrafana) -> Grafana:
    """finsent's Grafana client for the fake, with a short timeout."""
    return Grafana(fake_grafana.url, TOKEN, timeout_s=1.0)


@pytest.fixture
def alert_store(tmp_path: Path) -> Iterator[Store]:
    """An initialised chdb store (one per process at a time), closed afterwards."""
    store = open_store(f"chdb://{tmp_path / 'chdb'}")
    try:
        store.init_schema()
        yield store
    finally:
        store.close()


@pytest.fixture
def make_alert() -> Callable[..., AlertRecord]:
    """Build an AlertRecord fired ``minute`` minutes after T0; keyword arguments override the rest."""

    def build(minute: int = 0, **overrides: Any) -> AlertRecord:
        fields: dict[str, Any] = {
            "rule_id": "neg-burst",
            "severity": "warning",
            "scope": "symbol",
            "symbol": "NVDA",
            "metric": "negative_share",
            "comparison": ">=",
            "value": 0.8,
            "threshold": 0.6,
            "window_s": 300,
            "doc_count": 40,
            "fired_at": T0 + timedelta(minutes=minute),
            "headlines": ["Nvidia shares slide after export curbs"],
        }
        fields.update(overrides)
        return AlertRecord(**fields)

    return build
