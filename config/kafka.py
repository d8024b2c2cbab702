"""The one mapping of ``FINSENT_KAFKA_*`` security settings (TLS, SASL) onto Kafka clients.

``KafkaSecurity`` decides which settings apply to which protocol; the kafka-python keyword
arguments come from ``kafka_client_config`` and Faust's credentials (``streams.app``) from the
same object, so the producer tools and the worker can never disagree.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from config.components import KafkaSettings


@dataclass(frozen=True)
class KafkaSecurity:
    """TLS and SASL for Kafka clients (``Settings.kafka`` builds it from ``FINSENT_KAFKA_*``)."""

    protocol: str = "PLAINTEXT"
    mechanism: str = "PLAIN"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    cafile: Path | None = None
    certfile: Path | None = None
    keyfile: Path | None = None

    @property
    def uses_tls(self) -> bool:
        return self.protocol in {"SSL", "SASL_SSL"}

    @property
    def uses_sasl(self) -> bool:
        return self.protocol.startswith("SASL")

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context (CA file, client certificate) when the protocol uses TLS."""
        if not self.uses_tls:
            return None
        context = ssl.create_default_context(cafile=str(self.cafile) if self.cafile else None)
        if self.certfile:
            context.load_cert_chain(str(self.certfile), str(self.keyfile) if self.keyfile else None)
        return context

    def kafka_python_config(self, bootstrap: str) -> dict[str, Any]:
        """Keyword arguments for kafka-python's KafkaProducer/KafkaConsumer."""
        config: dict[str, Any] = {"bootstrap_servers": bootstrap.split(","), "security_protocol": self.protocol}
        if self.uses_tls:
            config.update(
                ssl_cafile=str(self.cafile) if self.cafile else None,
                ssl_certfile=str(self.certfile) if self.certfile else None,
                ssl_keyfile=str(self.keyfile) if self.keyfile else None,
            )
        if self.uses_sasl:
            config.update(
                sasl_mechanism=self.mechanism, sasl_plain_username=self.username, sasl_plain_password=self.password
            )
        return config


def kafka_client_config(kafka: KafkaSettings, bootstrap: str) -> dict[str, Any]:
    """kafka-python keyword arguments for ``bootstrap`` with the configured security."""
    return kafka.security.kafka_python_config(bootstrap)
