"""``ClickHouseStore``: a ClickHouse server over the native protocol (clickhouse-driver)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from clickhouse_driver import Client
from clickhouse_driver import errors as ch_errors
from clickhouse_driver.errors import ErrorCodes

from storage.base import Store
from storage.exceptions import StoreError, StoreNotInitialised, StoreUnavailable, short_reason
from storage.urls import ServerConfig, parse_server_url

T = TypeVar("T")

TRANSIENT_CODES = frozenset(
    {
        ErrorCodes.TIMEOUT_EXCEEDED,
        ErrorCodes.TOO_MANY_SIMULTANEOUS_QUERIES,
        ErrorCodes.NO_FREE_CONNECTION,
        ErrorCodes.SOCKET_TIMEOUT,
        ErrorCodes.NETWORK_ERROR,
        ErrorCodes.MEMORY_LIMIT_EXCEEDED,
        ErrorCodes.TABLE_IS_READ_ONLY,
        ErrorCodes.TOO_MANY_PARTS,
        ErrorCodes.ALL_CONNECTION_TRIES_FAILED,
        ErrorCodes.KEEPER_EXCEPTION,
    }
)
MIN_VERSION_FOR_INSERT_TOKENS = (24, 8)
_TRANSIENT_TYPES = (ch_errors.NetworkError, ch_errors.SocketTimeoutError, OSError, EOFError)


class ClickHouseStore(Store):
    """finsent tables in one database of a ClickHouse server; connects lazily, reconnects itself."""

    def __init__(self, config: ServerConfig) -> None:
        super().__init__()
        self._config = config
        self._client = Client(**config.client_kwargs())
        self._insert_tokens: bool | None = None

    @classmethod
    def from_url(cls, url: str) -> ClickHouseStore:
        """A store for ``clickhouse[s]://user:password@host:port/database`` (see ``storage.urls``)."""
        return cls(parse_server_url(url))

    @property
    def description(self) -> str:
        """``clickhouse://user@host:port/database (compression=lz4)``, never the password."""
        return self._config.describe()

    def _create_database(self) -> None:
        if self._database_exists():
            return
        admin = Client(**self._config.client_kwargs(database="default"))
        try:
            self._call(admin.execute, f"CREATE DATABASE IF NOT EXISTS {self._config.database}")
        finally:
            admin.disconnect()

    def _database_exists(self) -> bool:
        try:
            self._client.execute("SELECT 1")
        except ch_errors.ServerException as exc:
            if exc.code == ErrorCodes.UNKNOWN_DATABASE:
                return False
            raise translate_error(exc, self._config) from exc
        except Exception as exc:
            raise translate_error(exc, self._config) from exc
        return True

    def _command(self, sql: str) -> None:
        self._call(self._client.execute, sql)

    def _select(self, sql: str, params: dict[str, Any] | None) -> tuple[list[str], list[tuple]]:
        rows, columns = self._call(self._client.execute, sql, params, with_column_types=True)
        return [name for name, _ in columns], [tuple(row) for row in rows]

    def supports_insert_tokens(self) -> bool:
        """From ClickHouse 24.8 (the compose stack's): tokens that dependent views honour too."""
        if self._insert_tokens is None:
            version = str(self._call(self._client.execute, "SELECT version()")[0][0])
            major, minor = (int(part) for part in version.split(".")[:2])
            self._insert_tokens = (major, minor) >= MIN_VERSION_FOR_INSERT_TOKENS
        return self._insert_tokens

    def _insert(
        self, table: str, columns: Sequence[str], data: list[list[Any]], settings: Mapping[str, Any] | None = None
    ) -> None:
        statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES"
        self._call(self._client.execute, statement, data, columnar=True, settings=dict(settings or {}))

    def _release(self) -> None:
        self._client.disconnect()

    def _call(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return method(*args, **kwargs)
        except Exception as exc:
            raise translate_error(exc, self._config) from exc


def translate_error(exc: Exception, config: ServerConfig) -> StoreError:
    """StoreUnavailable for transient failures, StoreError otherwise; the password is scrubbed."""
    message = f"ClickHouse {config.host}:{config.port}/{config.database}: {_message(exc)}"
    if config.password:
        message = message.replace(config.password, "***")
    if isinstance(exc, _TRANSIENT_TYPES) or getattr(exc, "code", None) in TRANSIENT_CODES:
        return StoreUnavailable(message)
    if getattr(exc, "code", None) in {ErrorCodes.UNKNOWN_DATABASE, ErrorCodes.UNKNOWN_TABLE}:
        return StoreNotInitialised(f"ClickHouse {config.host}:{config.port}/{config.database}")
    return StoreError(message)


def _message(exc: Exception) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return short_reason(text)
