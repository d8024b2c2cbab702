"""API keys: ``fsk_<key id>_<secret>``, stored as a salted SHA-256 of the secret, checked in constant time.

The secret has 256 bits of entropy, so one salted hash (not a slow KDF) is enough: there is no
password to guess. Verified keys are cached for ``cache_s`` seconds, so a revoked key stops
working within that time on every API process.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from schemas.api import SCOPE_RANK, ApiKeyRow, ApiScope
from storage import Store
from storage.api_keys import all_api_keys, api_key, insert_api_keys

_TOKEN = re.compile(r"^fsk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def token_parts(token: str) -> tuple[str, str] | None:
    """A well-formed key's ``(key id, secret)``, or None (the secret itself may hold ``_``)."""
    match = _TOKEN.match(token)
    return (match.group(1), match.group(2)) if match else None


def grants(scope: str, needed: str) -> bool:
    """Whether a key with ``scope`` may do what needs ``needed`` (admin ⊃ write ⊃ read)."""
    return SCOPE_RANK[scope] >= SCOPE_RANK[needed]


class KeyRing:
    """Create, verify, list and revoke API keys in the store's ``api_keys`` table."""

    def __init__(self, store: Store, cache_s: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._cache_s = cache_s
        self._clock = clock
        self._cache: dict[str, tuple[float, ApiKeyRow | None]] = {}
        self._known: tuple[float, frozenset[str]] = (float("-inf"), frozenset())
        self._lock = threading.Lock()

    def create(self, name: str, scope: ApiScope) -> tuple[ApiKeyRow, str]:
        """A new key: its row and the token to hand out (shown once; only its hash is stored)."""
        key_id, secret, salt = secrets.token_hex(6), secrets.token_urlsafe(32), secrets.token_hex(16)
        row = ApiKeyRow(
            key_id=key_id,
            name=name,
            scope=scope,
            salt=salt,
            key_hash=_digest(salt, secret),
            created_at=datetime.now(UTC).replace(microsecond=0),
        )
        insert_api_keys(self._store, [row])
        return row, f"fsk_{key_id}_{secret}"

    def verify(self, token: str) -> ApiKeyRow | None:
        """The key ``token`` belongs to, or None (malformed, unknown, wrong secret or revoked)."""
        parts = token_parts(token)
        if parts is None:
            return None
        key_id, secret = parts
        row = self._row(key_id)
        if row is None or row.revoked:
            return None
        return row if hmac.compare_digest(row.key_hash, _digest(row.salt, secret)) else None

    def may_exist(self, token: str) -> bool:
        """Whether ``token`` names the id of a key that exists, from a list of ids read at most every ``cache_s``.

        Lets an address that is throttled for failed authentications still present a valid key,
        without buying a store lookup for every guessed key id.
        """
        parts = token_parts(token)
        if parts is None:
            return False
        now = self._clock()
        with self._lock:
            read_at, known = self._known
        if now - read_at >= max(self._cache_s, 1.0):
            known = frozenset(row.key_id for row in self.list())
            with self._lock:
                self._known = (now, known)
        return parts[0] in known

    def revoke(self, key_id: str) -> bool:
        """Revoke ``key_id``; False if there is no such key or it was already revoked."""
        row = self._load(key_id)
        if row is None or row.revoked:
            return False
        insert_api_keys(self._store, [row.model_copy(update={"revoked": 1, "version": row.version + 1})])
        with self._lock:
            self._cache.pop(key_id, None)
        return True

    def list(self) -> list[ApiKeyRow]:
        """Every key (revoked ones too), oldest first."""
        return all_api_keys(self._store)

    def _row(self, key_id: str) -> ApiKeyRow | None:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(key_id)
        if cached is not None and now - cached[0] < self._cache_s:
            return cached[1]
        row = self._load(key_id)
        with self._lock:
            self._cache[key_id] = (now, row)
        return row

    def _load(self, key_id: str) -> ApiKeyRow | None:
        return api_key(self._store, key_id)
