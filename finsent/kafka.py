"""kafka-python client settings (TLS/SASL) from finsent's Settings."""

from __future__ import annotations

from typing import Any

from config import Settings


def kafka_client_config(settings: Settings, bootstrap: str) -> dict[str, Any]:
    """Keyword arguments for kafka-python's KafkaProducer/KafkaConsumer."""
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap.split(","),
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol in {"SSL", "SASL_SSL"}:
        config.update(
            ssl_cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None,
            ssl_certfile=str(settings.kafka_ssl_certfile) if settings.kafka_ssl_certfile else None,
            ssl_keyfile=str(settings.kafka_ssl_keyfile) if settings.kafka_ssl_keyfile else None,
        )
    if settings.kafka_security_protocol.startswith("SASL"):
        password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else None
        config.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=password,
        )
    return config
