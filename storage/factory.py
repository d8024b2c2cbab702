"""``open_store``: pick the backend from the URL scheme."""

from __future__ import annotations

from urllib.parse import urlsplit

from storage.base import Store
from storage.exceptions import StoreConfigError

SERVER_SCHEMES = ("clickhouse", "clickhouses")


def open_store(url: str, create: bool = True) -> Store:
    """Open the store ``url`` names: ``chdb://PATH`` or ``clickhouse[s]://user:pw@host:port/db``.

    Nothing is created until ``init_schema()``; chdb opens (and locks) its data path at once,
    the server store connects on first use. Readers pass ``create=False``: a chdb path that
    does not exist is then an error instead of an empty new store.
    """
    scheme = urlsplit(url).scheme.lower() if isinstance(url, str) else ""
    if scheme == "chdb":
        from storage.chdb_store import ChdbStore

        return ChdbStore.from_url(url, create)
    if scheme in SERVER_SCHEMES:
        from storage.clickhouse_store import ClickHouseStore

        return ClickHouseStore.from_url(url)
    raise StoreConfigError(f"unsupported store URL scheme {scheme!r}: use chdb:// or clickhouse[s]://")
