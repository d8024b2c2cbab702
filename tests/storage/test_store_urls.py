"""Store URLs: parsing, validation and secret-free descriptions (no server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage import StoreConfigError, StoreError, open_store
from storage.clickhouse_store import ClickHouseStore
from storage.urls import parse_chdb_url, parse_server_url

PASSWORD = "s3cr@t:/pw%"
URL = "clickhouse://finsent:s3cr%40t%3A%2Fpw%25@db.example:9001/analytics"


@pytest.mark.parametrize(
    "url",
    [
        "postgres://u:p@host/db",
        "sqlite:///tmp/x.db",
        "",
        "not a url",
        "http://host:8123/",
    ],
)
def test_unsupported_scheme_is_a_config_error(url: str) -> None:
    with pytest.raises(StoreConfigError) as caught:
        open_store(url)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, StoreError)


@pytest.mark.parametrize(
    "url",
    [
        "chdb://",
        "chdb:///",
        "chdb:///tmp/x?database=bad-name",
        "chdb:///tmp/x?mode=ro",
        "clickhouse:///db",
        "clickhouse://host:notaport/db",
        "clickhouse://host/bad;name",
        "clickhouse://host/db?secure=maybe",
        "clickhouse://host/db?compresion=lz4",
        "clickhouse://host/db?compression=brotli",
        "clickhouse://host/db?connect_timeout=-1",
    ],
)
def test_malformed_urls_are_config_errors(url: str) -> None:
    with pytest.raises(StoreConfigError):
        open_store(url)


def test_server_url_fields() -> None:
    config = parse_server_url(URL)
    assert (config.host, config.port, config.user, config.database) == ("db.example", 9001, "finsent", "analytics")
    assert config.password == PASSWORD
    assert (config.secure, config.verify, config.compression) == (False, True, "lz4")


def test_server_url_defaults() -> None:
    config = parse_server_url("clickhouse://localhost")
    assert (config.port, config.user, config.database, config.password) == (9000, "default", "default", "")


@pytest.mark.parametrize("url", ["clickhouses://h/db", "clickhouse://h/db?secure=true"])
def test_tls_urls_default_to_port_9440(url: str) -> None:
    config = parse_server_url(url)
    assert config.secure and config.port == 9440
    assert config.client_kwargs()["secure"] is True


def test_tls_options_reach_the_client() -> None:
    config = parse_server_url("clickhouses://h:9440/db?verify=false&ca_certs=/etc/ca.pem&compression=none")
    kwargs = config.client_kwargs()
    assert (kwargs["verify"], kwargs["ca_certs"], kwargs["compression"]) == (False, "/etc/ca.pem", False)
    assert config.client_kwargs(database="default")["database"] == "default"


def test_password_never_shows_in_description_or_repr() -> None:
    store = ClickHouseStore.from_url(URL)
    try:
        texts = [store.description, repr(store), str(store), repr(parse_server_url(URL))]
        for text in texts:
            assert PASSWORD not in text and "s3cr" not in text
        assert store.description == "clickhouse://finsent@db.example:9001/analytics (compression=lz4)"
    finally:
        store.close()


def test_chdb_absolute_url() -> None:
    config = parse_chdb_url("chdb:///var/lib/finsent/chdb?database=finsent")
    assert (config.path, config.database) == (Path("/var/lib/finsent/chdb"), "finsent")
    assert config.describe() == "chdb:///var/lib/finsent/chdb?database=finsent"


def test_chdb_relative_url_resolves_from_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = parse_chdb_url("chdb://data/Store")
    assert config.path == tmp_path / "data" / "Store"
    assert config.database == "default"
