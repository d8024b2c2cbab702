"""finsent's one configuration object, read from ``FINSENT_*`` environment variables.

Secrets (passwords, tokens, keys) are ``SecretStr``: they print as ``**********``. Each can
also come from a file named like its variable (``FINSENT_STORE_PASSWORD``) in the directory
``FINSENT_SECRETS_DIR`` (Docker/Kubernetes secrets), never from code.
"""

from __future__ import annotations

import dataclasses
import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config.components import (
    AlertSettings,
    ApiSettings,
    BatchSettings,
    GrafanaSettings,
    KafkaSettings,
    LearningSettings,
    ModelSettings,
    RouteSettings,
    TopicNames,
)
from config.kafka import KafkaSecurity
from config.masking import MASK, mask_url
from config.routes import DEFAULT_MODEL, parse_routes

__all__ = ["DEV_AUTHOR_KEY", "MASK", "Settings", "mask_url"]

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

C = TypeVar("C", bound="DataclassInstance")
DEV_AUTHOR_KEY = "finsent-development-only"


def _secrets_dir() -> str | None:
    path = os.environ.get("FINSENT_SECRETS_DIR")
    return path if path and Path(path).is_dir() else None


class Settings(BaseSettings):
    """Every knob of finsent; see the configuration table in the README."""

    model_config = SettingsConfigDict(env_prefix="FINSENT_", secrets_dir=_secrets_dir(), extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path(".finsent")
    log_level: str = "INFO"

    # Kafka: unset bootstrap starts the embedded broker.
    kafka_bootstrap: str | None = None
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None
    kafka_session_timeout_s: float = Field(10.0, gt=0)
    kafka_unavailable_exit_s: float = Field(60.0, gt=0)
    kafka_fetch_max_wait_ms: int = Field(100, ge=1, le=30_000)
    news_topic: str = "finsent.news"
    social_topic: str = "finsent.social"
    scores_topic: str = "finsent.scores"
    deadletter_topic: str = "finsent.deadletter"
    alert_inputs_topic: str = "finsent.alert-inputs"
    alerts_topic: str = "finsent.alerts"
    topic_partitions: int = Field(4, ge=1)
    consumer_group: str = "finsent-worker"

    # Storage: chdb under data_dir unless a URL is given.
    store_url: str | None = None
    store_password: SecretStr | None = None

    # Model and batching.
    model: str | None = None
    model_backend: str = "auto"
    model_max_windows: int = Field(8, ge=1, le=256)
    device: str = "auto"
    batch_max_size: int = Field(1024, ge=1)
    batch_max_wait_s: float = Field(0.05, gt=0)
    max_future_skew_s: float = Field(300.0, ge=0)
    # Stories (docs/stories.md): off, every document is a story of one and no story index is kept.
    stories_enabled: bool = True

    # Routes: which model reads which kind (and source) of document; see config/routes.py.
    routes: str | None = None
    route_fallback: str = DEFAULT_MODEL
    route_backlog_s: float = Field(30.0, gt=0)
    route_recover_s: float = Field(10.0, ge=0)

    # The learning loop: registered model versions, hot swap, the base training data for retraining.
    model_registry_dir: Path | None = None
    model_follow: bool = True
    model_poll_s: float = Field(5.0, gt=0)
    training_data: Path | None = None

    # Alert rules: evaluated in every worker over finsent.scores.
    alerts_enabled: bool = True
    alert_rules_file: Path | None = None

    # Grafana (alerts as annotations, subscriptions through alerting provisioning).
    grafana_url: str | None = None
    grafana_token: SecretStr | None = None
    grafana_timeout_s: float = Field(5.0, gt=0)
    grafana_verify_tls: bool = True
    grafana_datasource_uid: str = "finsent-clickhouse"

    # HTTP API (finsent api).
    api_host: str = "127.0.0.1"
    api_port: int = Field(8000, ge=1, le=65_535)
    api_max_texts: int = Field(256, ge=1)
    api_max_text_chars: int = Field(20_000, ge=1)
    api_max_body_bytes: int = Field(8_000_000, ge=1_000)
    api_max_anonymous_body_bytes: int = Field(16_384, ge=1_000)
    api_max_request_chars: int = Field(200_000, ge=1)
    api_max_request_tokens: int = Field(8_192, ge=256)
    api_rate_limit_per_min: int = Field(600, ge=1)
    api_key_tokens_per_min: int = Field(65_536, ge=256)
    api_auth_failures_per_min: int = Field(30, ge=1)
    api_key_cache_s: float = Field(30.0, ge=0)

    author_hash_key: SecretStr = SecretStr(DEV_AUTHOR_KEY)
    web_port: int | None = Field(None, ge=0, le=65_535)

    @field_validator("kafka_sasl_password", "store_password", "grafana_token", mode="before")
    @classmethod
    def _empty_secret_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("routes", mode="before")
    @classmethod
    def _empty_routes_are_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value  # `none` turns routing off

    @model_validator(mode="after")
    def _no_placeholder_secrets_in_production(self) -> Settings:
        if self.environment == "production" and self.author_hash_key.get_secret_value() == DEV_AUTHOR_KEY:
            raise ValueError("FINSENT_AUTHOR_HASH_KEY must be set to a real secret in production")
        if self.api_key_tokens_per_min < self.api_max_request_tokens:
            raise ValueError("FINSENT_API_KEY_TOKENS_PER_MIN must be at least FINSENT_API_MAX_REQUEST_TOKENS")
        if self.environment == "production" and self.model == "null":
            raise ValueError("FINSENT_MODEL=null is the benchmarking-only model; it cannot run in production")
        if self.route_recover_s >= self.route_backlog_s:
            raise ValueError("FINSENT_ROUTE_RECOVER_S must be below FINSENT_ROUTE_BACKLOG_S (the gap stops flapping)")
        return self

    @cached_property
    def resolved_store_url(self) -> str:
        """The store URL with the password (from FINSENT_STORE_PASSWORD) put in; never log it."""
        if not self.store_url:
            return f"chdb://{(self.data_dir / 'chdb').resolve()}"
        if self.store_password is None:
            return self.store_url
        parts = urlsplit(self.store_url)
        user = parts.username or "default"
        host = parts.hostname or "localhost"
        netloc = f"{quote(user)}:{quote(self.store_password.get_secret_value(), safe='')}@{host}"
        if parts.port:
            netloc += f":{parts.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))

    @property
    def rules_file(self) -> Path:
        """The rules file the CLI and the API edit and workers watch: FINSENT_ALERT_RULES_FILE,
        else ``DATA_DIR/rules.yaml`` (the shipped defaults stay untouched)."""
        return self.alert_rules_file if self.alert_rules_file is not None else self.data_dir / "rules.yaml"

    def input_topics(self) -> dict[str, str]:
        """The topic each kind of document (``news``, ``social``) is read from."""
        return self.topics.inputs()

    @property
    def topics(self) -> TopicNames:
        return self._slice(TopicNames, "{}_topic", dead_letters=self.deadletter_topic)

    @property
    def kafka(self) -> KafkaSettings:
        password = self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else None
        security = self._slice(
            KafkaSecurity,
            "kafka_ssl_{}",
            protocol=self.kafka_security_protocol,
            mechanism=self.kafka_sasl_mechanism,
            username=self.kafka_sasl_username,
            password=password,
        )
        return self._slice(KafkaSettings, "kafka_{}", security=security, partitions=self.topic_partitions)

    @property
    def batching(self) -> BatchSettings:
        return self._slice(BatchSettings, "batch_{}")

    @property
    def classifier(self) -> ModelSettings:
        return self._slice(ModelSettings, "model_{}", name=self.model)

    @property
    def routing(self) -> RouteSettings:
        """The routes (``ConfigError``, one line, if ``FINSENT_ROUTES`` is malformed)."""
        routes = parse_routes(self.routes) if self.routes is not None else None
        return self._slice(RouteSettings, "route_{}", routes=routes)

    @property
    def learning(self) -> LearningSettings:
        registry_dir = self.model_registry_dir or self.data_dir / "models"
        return self._slice(LearningSettings, "model_{}", registry_dir=registry_dir)

    @property
    def grafana(self) -> GrafanaSettings:
        return self._slice(GrafanaSettings, "grafana_{}")

    @property
    def alerting(self) -> AlertSettings:
        return self._slice(AlertSettings, "alerts_{}")

    @property
    def api(self) -> ApiSettings:
        return self._slice(
            ApiSettings,
            "api_{}",
            max_anonymous_body_bytes=min(self.api_max_anonymous_body_bytes, self.api_max_body_bytes),
        )

    def _slice(self, component: type[C], pattern: str, **given: Any) -> C:
        """``component`` (a dataclass) with each field not ``given`` read from this object by name:
        the setting ``pattern.format(field)`` if there is one (``"api_{}"``: ``port`` is ``api_port``),
        else the attribute named like the field (a setting such as ``model`` or a slice such as ``grafana``)."""
        values = dict(given)
        for item in dataclasses.fields(component):
            if item.name not in given:
                prefixed = pattern.format(item.name)
                values[item.name] = getattr(self, prefixed if prefixed in type(self).model_fields else item.name)
        return component(**values)

    def public_view(self) -> dict[str, object]:
        """Settings as printable values: secrets masked, credentials in any URL masked."""
        view = self.model_dump(mode="json")
        return {key: mask_url(value) if isinstance(value, str) else value for key, value in view.items()}
