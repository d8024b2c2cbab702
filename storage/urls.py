"""Parsing store URLs into validated settings; nothing here opens a connection."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from storage.exceptions import StoreConfigError

DEFAULT_DATABASE = "default"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_SERVER_OPTIONS = frozenset({"secure", "verify", "ca_certs", "compression", "connect_timeout", "send_receive_timeout"})


@dataclass(frozen=True)
class ChdbConfig:
    """An embedded chdb store: an absolute data path and the database used inside it."""

    path: Path
    database: str = DEFAULT_DATABASE

    def describe(self) -> str:
        """``chdb:///path`` plus the database when it is not the default one."""
        text = f"chdb://{self.path}"
        return text if self.database == DEFAULT_DATABASE else f"{text}?database={self.database}"


@dataclass(frozen=True)
class ServerConfig:
    """A ClickHouse server reached over the native protocol; the password never leaves here."""

    host: str
    port: int
    user: str
    database: str
    password: str = field(default="", repr=False)
    secure: bool = False
    verify: bool = True
    ca_certs: str | None = None
    compression: str | None = "lz4"
    connect_timeout: float = 10.0
    send_receive_timeout: float = 300.0

    def client_kwargs(self, database: str | None = None) -> dict[str, Any]:
        """Keyword arguments for ``clickhouse_driver.Client`` (``database`` overrides ours)."""
        kwargs: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "database": database or self.database,
            "secure": self.secure,
            "verify": self.verify,
            "compression": self.compression or False,
            "connect_timeout": self.connect_timeout,
            "send_receive_timeout": self.send_receive_timeout,
            "client_name": "finsent",
        }
        if self.ca_certs:
            kwargs["ca_certs"] = self.ca_certs
        return kwargs

    def describe(self) -> str:
        """The URL without the password, plus TLS and compression flags."""
        scheme = "clickhouses" if self.secure else "clickhouse"
        flags = [f"compression={self.compression or 'none'}"]
        if self.secure and not self.verify:
            flags.append("verify=false")
        return f"{scheme}://{self.user}@{self.host}:{self.port}/{self.database} ({', '.join(flags)})"


def checked_identifier(name: str, what: str = "database") -> str:
    """``name`` if it is a plain SQL identifier, else StoreConfigError."""
    if not _IDENTIFIER.match(name):
        raise StoreConfigError(f"invalid {what} name {name!r}: use letters, digits and underscores")
    return name


def parse_chdb_url(url: str) -> ChdbConfig:
    """``chdb:///absolute/path`` or ``chdb://relative/path`` (from the working directory)."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "chdb":
        raise StoreConfigError(f"not a chdb URL: scheme {parts.scheme!r}")
    raw_path = unquote(parts.netloc + parts.path)
    if not raw_path.strip("/"):
        raise StoreConfigError("chdb URL needs a data path: chdb:///absolute/path or chdb://relative/path")
    options = _options(parts.query, frozenset({"database"}))
    database = checked_identifier(options.get("database", DEFAULT_DATABASE))
    return ChdbConfig(path=Path(raw_path).expanduser().resolve(), database=database)


def parse_server_url(url: str) -> ServerConfig:
    """``clickhouse[s]://user:password@host:port/database?secure=&verify=&ca_certs=&compression=``."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("clickhouse", "clickhouses"):
        raise StoreConfigError(f"not a ClickHouse URL: scheme {scheme!r}")
    if not parts.hostname:
        raise StoreConfigError("ClickHouse URL needs a host: clickhouse://user@host:9000/database")
    options = _options(parts.query, _SERVER_OPTIONS)
    secure = scheme == "clickhouses" or _flag(options, "secure", False)
    database = unquote(parts.path.strip("/")) or DEFAULT_DATABASE
    return ServerConfig(
        host=parts.hostname,
        port=_port(parts, 9440 if secure else 9000),
        user=unquote(parts.username or "default"),
        password=unquote(parts.password or ""),
        database=checked_identifier(database),
        secure=secure,
        verify=_flag(options, "verify", True),
        ca_certs=options.get("ca_certs") or None,
        compression=_compression(options.get("compression", "lz4")),
        connect_timeout=_seconds(options, "connect_timeout", 10.0),
        send_receive_timeout=_seconds(options, "send_receive_timeout", 300.0),
    )


def _options(query: str, allowed: frozenset[str]) -> dict[str, str]:
    options = dict(parse_qsl(query, keep_blank_values=True))
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise StoreConfigError(f"unknown store URL option(s) {unknown}; allowed: {sorted(allowed)}")
    return options


def _port(parts: Any, default: int) -> int:
    try:
        return parts.port or default
    except ValueError:
        raise StoreConfigError("ClickHouse URL has an invalid port") from None


def _flag(options: dict[str, str], name: str, default: bool) -> bool:
    value = options.get(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise StoreConfigError(f"option {name} must be true or false, not {value!r}")


def _compression(value: str) -> str | None:
    value = value.lower()
    if value in _FALSE or value == "none":
        return None
    if value in _TRUE:
        return "lz4"
    if value in ("lz4", "lz4hc"):
        return value
    raise StoreConfigError(f"compression must be lz4, lz4hc or none, not {value!r}")


def _seconds(options: dict[str, str], name: str, default: float) -> float:
    try:
        value = float(options.get(name, default))
    except ValueError:
        raise StoreConfigError(f"option {name} must be a number of seconds") from None
    if value <= 0:
        raise StoreConfigError(f"option {name} must be positive")
    return value
