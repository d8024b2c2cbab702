"""The ``api_keys`` table: new keys and revocations in, the latest version of each back out."""

from __future__ import annotations

from collections.abc import Sequence

from schemas.api import ApiKeyRow
from storage.base import Store

_COLUMNS = ", ".join(ApiKeyRow.model_fields)


def insert_api_keys(store: Store, rows: Sequence[ApiKeyRow]) -> None:
    """Insert API key rows (new keys, or a later version that revokes one)."""
    store._insert_records("api_keys", rows)


def all_api_keys(store: Store) -> list[ApiKeyRow]:
    """Every key (revoked ones too), oldest first."""
    rows = store._query_dicts(f"SELECT {_COLUMNS} FROM api_keys FINAL ORDER BY created_at, key_id")
    return [ApiKeyRow(**row) for row in rows]


def api_key(store: Store, key_id: str) -> ApiKeyRow | None:
    """The current version of one key, or None."""
    rows = store._query_dicts(f"SELECT {_COLUMNS} FROM api_keys FINAL WHERE key_id = %(key_id)s", {"key_id": key_id})
    return ApiKeyRow(**rows[0]) if rows else None
