"""The narrow settings each component receives, cut from the one ``Settings`` object.

A component takes only what it reads (the worker's Faust app a ``KafkaSettings`` and a
``BatchSettings``, the API an ``ApiSettings``, ...), so its signature says what configures it.
``Settings.kafka``, ``Settings.api`` and their siblings cut them by field name (``port`` of
``ApiSettings`` is the setting ``api_port``); the defaults live there only, so these classes have none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from config.kafka import KafkaSecurity
from config.routes import Route


@dataclass(frozen=True)
class TopicNames:
    """The Kafka topics finsent reads and writes."""

    news: str
    social: str
    scores: str
    dead_letters: str
    alert_inputs: str
    alerts: str

    def inputs(self) -> dict[str, str]:
        """The topic each kind of document (``news``, ``social``) is read from."""
        return {"news": self.news, "social": self.social}


@dataclass(frozen=True)
class KafkaSettings:
    """Where the brokers are, how to reach them, and the topics and group the worker uses."""

    bootstrap: str | None
    security: KafkaSecurity
    topics: TopicNames
    partitions: int
    consumer_group: str
    session_timeout_s: float
    unavailable_exit_s: float
    fetch_max_wait_ms: int


@dataclass(frozen=True)
class BatchSettings:
    """How many messages a batch takes at most, its wait bound (it closes ``max_wait_s`` after the previous
    batch closed, once what has arrived is read in: ``streams.batching``), and how far in the future a
    document's time may lie before it is dead-lettered."""

    max_size: int
    max_wait_s: float
    max_future_skew_s: float


@dataclass(frozen=True)
class ModelSettings:
    """Which classifier to load and how to run it."""

    name: str | None
    backend: str
    max_windows: int
    device: str


@dataclass(frozen=True)
class RouteSettings:
    """Which model reads which documents, and when a route hands its documents to the fallback model."""

    routes: tuple[Route, ...] | None
    """``FINSENT_ROUTES`` parsed; None when unset (the loader's defaults apply)."""
    fallback: str
    backlog_s: float
    """A route falls back once the oldest document of its share of a batch has waited this long in Kafka."""
    recover_s: float
    """... and returns to its own model once that oldest document has waited less than this."""


@dataclass(frozen=True)
class LearningSettings:
    """The model registry, how often processes look for a newly promoted version, the base training data."""

    registry_dir: Path
    follow: bool
    poll_s: float
    training_data: Path | None


@dataclass(frozen=True)
class GrafanaSettings:
    """The Grafana that receives alerts as annotations and holds subscriptions."""

    url: str | None
    token: SecretStr | None = field(repr=False)
    timeout_s: float
    verify_tls: bool
    datasource_uid: str


@dataclass(frozen=True)
class AlertSettings:
    """Whether the rule engine runs, the rules file it watches, and where alerts are delivered."""

    rules_file: Path
    enabled: bool
    grafana: GrafanaSettings


@dataclass(frozen=True)
class ApiSettings:
    """The HTTP API's address and limits, plus the rules and Grafana its routes manage."""

    rules_file: Path
    host: str
    port: int
    max_texts: int
    max_text_chars: int
    max_body_bytes: int
    max_anonymous_body_bytes: int
    """The body cap for a request without a valid key (checked before the body is read on)."""
    max_request_chars: int
    max_request_tokens: int
    """Tokens one classify request may cost, counted after truncation to the model's windows."""
    rate_limit_per_min: int
    key_tokens_per_min: int
    auth_failures_per_min: int
    key_cache_s: float
    grafana: GrafanaSettings
    model: str | None
    """FINSENT_MODEL: what serves until the registry has an active version (the drift report's reference)."""
