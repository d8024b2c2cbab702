"""Fixtures for dashboard tests: a seeded store on each ClickHouse backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from storage import Store, open_store
from tests.dashboards.seed import seed


@pytest.fixture(scope="module", params=["chdb", pytest.param("clickhouse-18.16", id="clickhouse")])
def seeded_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """An initialised store holding the seed rows; chdb (current engine) and clickhouse-server 18.16."""
    if request.param == "chdb":
        url = f"chdb://{tmp_path_factory.mktemp('dashboards') / 'chdb'}"
    else:
        port = request.getfixturevalue("clickhouse_server")
        url = f"clickhouse://default@127.0.0.1:{port}/finsent_dashboards"
    store: Store = open_store(url)
    try:
        store.init_schema()
        seed(store)
        yield store
        if request.param != "chdb":
            store.drop_all()
    finally:
        store.close()
