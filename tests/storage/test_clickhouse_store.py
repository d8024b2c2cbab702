"""clickhouse-server specifics: error mapping, database creation, no password leaks."""

from __future__ import annotations

import pytest
from clickhouse_driver.errors import ErrorCodes, ServerException

from storage import StoreError, StoreUnavailable, open_store
from storage.clickhouse_store import translate_error
from storage.exceptions import StoreNotInitialised
from storage.urls import parse_server_url

PASSWORD = "hunter2-Secret"


def test_refused_connection_is_unavailable(closed_port: int) -> None:
    url = f"clickhouse://finsent:{PASSWORD}@127.0.0.1:{closed_port}/db?connect_timeout=2"
    with open_store(url) as store, pytest.raises(StoreUnavailable) as caught:
        store.count_documents()
    assert PASSWORD not in str(caught.value)
    assert PASSWORD not in repr(caught.value.__cause__)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (ErrorCodes.TIMEOUT_EXCEEDED, StoreUnavailable),
        (ErrorCodes.TOO_MANY_SIMULTANEOUS_QUERIES, StoreUnavailable),
        (ErrorCodes.MEMORY_LIMIT_EXCEEDED, StoreUnavailable),
        (ErrorCodes.SYNTAX_ERROR, StoreError),
    ],
)
def test_server_errors_map_by_code(code: int, kind: type[StoreError]) -> None:
    config = parse_server_url(f"clickhouse://u:{PASSWORD}@h/db")
    error = translate_error(ServerException(f"boom, password was {PASSWORD}", code), config)
    assert type(error) is kind
    assert PASSWORD not in str(error)


@pytest.mark.parametrize("code", [ErrorCodes.UNKNOWN_DATABASE, ErrorCodes.UNKNOWN_TABLE])
def test_a_store_without_tables_says_how_to_create_them(code: int) -> None:
    config = parse_server_url("clickhouse://h/db")
    error = translate_error(ServerException("Table db.documents doesn't exist. In scope SELECT 1", code), config)
    assert type(error) is StoreNotInitialised and "finsent worker" in str(error) and "SELECT" not in str(error)


@pytest.mark.integration
def test_missing_database_before_init_schema(clickhouse_url: str) -> None:
    with open_store(clickhouse_url) as store:
        with pytest.raises(StoreNotInitialised, match="no finsent tables yet"):
            store.count_documents()
        store.init_schema()
        assert store.count_documents() == 0
        store.drop_all()


@pytest.mark.integration
def test_wrong_password_is_an_error_not_a_retry(clickhouse_server: int) -> None:
    url = f"clickhouse://default:{PASSWORD}@127.0.0.1:{clickhouse_server}/default"
    with open_store(url) as store, pytest.raises(StoreError) as caught:
        store.ping()
    assert not isinstance(caught.value, StoreUnavailable)
    assert PASSWORD not in str(caught.value)
