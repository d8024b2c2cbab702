"""Reading API keys back from the ``api_keys`` table (the latest version of each)."""

from __future__ import annotations

from schemas.api import ApiKeyRow
from storage.base import Store

_COLUMNS = ", ".join(ApiKeyRow.model_fields)


def all_api_keys(store: Store) -> list[ApiKeyRow]:
    """Every key (revoked ones too), oldest first."""
    rows = store.query_dicts(f"SELECT {_COLUMNS} FROM api_keys FINAL ORDER BY created_at, key_id")
    return [ApiKeyRow(**row) for row in rows]


def api_key(store: Store, key_id: str) -> ApiKeyRow | None:
    """The current version of one key, or None."""
    rows = store.query_dicts(f"SELECT {_COLUMNS} FROM api_keys FINAL WHERE key_id = %(key_id)s", {"key_id": key_id})
    return ApiKeyRow(**rows[0]) if rows else None
