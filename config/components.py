"""The narrow settings each component receives, cut from the one ``Settings`` object.

A component takes only what it reads (the worker's Faust app a ``KafkaSettings`` and a
``BatchSettings``, the API an ``ApiSettings``, ...), so its signature says what configures it
and tests build exactly that. ``Settings.kafka``, ``Settings.api`` and their siblings build them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from config.kafka import KafkaSecurity


@dataclass(frozen=True)
class TopicNames:
    """The Kafka topics finsent reads and writes."""

    news: str = "finsent.news"
    social: str = "finsent.social"
    scores: str = "finsent.scores"
    dead_letters: str = "finsent.deadletter"
    alert_inputs: str = "finsent.alert-inputs"
    alerts: str = "finsent.alerts"

    def inputs(self) -> dict[str, str]:
        """The topic each kind of document (``news``, ``social``) is read from."""
        return {"news": self.news, "social": self.social}


@dataclass(frozen=True)
class KafkaSettings:
    """Where the brokers are, how to reach them, and the topics and group the worker uses."""

    bootstrap: str | None = None
    security: KafkaSecurity = field(default_factory=KafkaSecurity)
    topics: TopicNames = field(default_factory=TopicNames)
    partitions: int = 4
    consumer_group: str = "finsent-worker"
    session_timeout_s: float = 10.0
    unavailable_exit_s: float = 60.0
    fetch_max_wait_ms: int = 100


@dataclass(frozen=True)
class BatchSettings:
    """How many messages a batch takes at most, how long it waits to fill, and how far in the
    future a document's time may lie before it is dead-lettered."""

    max_size: int = 1024
    max_wait_s: float = 0.05
    max_future_skew_s: float = 300.0


@dataclass(frozen=True)
class ModelSettings:
    """Which classifier to load and how to run it."""

    name: str | None = None
    backend: str = "auto"
    max_windows: int = 8
    device: str = "auto"


@dataclass(frozen=True)
class GrafanaSettings:
    """The Grafana that receives alerts as annotations and holds subscriptions."""

    url: str | None = None
    token: SecretStr | None = field(default=None, repr=False)
    timeout_s: float = 5.0
    verify_tls: bool = True
    datasource_uid: str = "finsent-clickhouse"


@dataclass(frozen=True)
class AlertSettings:
    """Whether the rule engine runs, the rules file it watches, and where alerts are delivered."""

    rules_file: Path
    enabled: bool = True
    grafana: GrafanaSettings = field(default_factory=GrafanaSettings)


@dataclass(frozen=True)
class ApiSettings:
    """The HTTP API's address and limits, plus the rules and Grafana its routes manage."""

    rules_file: Path
    host: str = "127.0.0.1"
    port: int = 8000
    max_texts: int = 256
    max_text_chars: int = 20_000
    max_body_bytes: int = 8_000_000
    max_request_chars: int = 200_000
    rate_limit_per_min: int = 600
    key_chars_per_min: int = 2_000_000
    auth_failures_per_min: int = 30
    key_cache_s: float = 30.0
    grafana: GrafanaSettings = field(default_factory=GrafanaSettings)
