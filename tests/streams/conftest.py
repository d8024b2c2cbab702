"""Fixtures for stream tests: an embedded broker and a worker environment per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from finsent.dev.broker import EmbeddedBroker
from tests.streams.feed import AUTHOR_KEY


@pytest.fixture
def broker() -> Iterator[EmbeddedBroker]:
    """A fresh in-memory broker per test (starts in milliseconds), so no test sees another's topics."""
    with EmbeddedBroker() as running:
        yield running


@pytest.fixture
def worker_env(broker: EmbeddedBroker, tiny_model_dir: Path, tmp_path: Path) -> dict[str, str]:
    """Environment for a worker on the test broker, a fresh chdb store and consumer group."""
    return {
        "FINSENT_KAFKA_BOOTSTRAP": broker.bootstrap,
        "FINSENT_DATA_DIR": str(tmp_path / "data"),
        "FINSENT_MODEL": str(tiny_model_dir),
        "FINSENT_MODEL_BACKEND": "onnx-int8",
        "FINSENT_CONSUMER_GROUP": f"test-{uuid.uuid4().hex[:8]}",
        "FINSENT_KAFKA_SESSION_TIMEOUT_S": "6",
        "FINSENT_BATCH_MAX_WAIT_S": "0.2",
        "FINSENT_BATCH_MAX_SIZE": "64",
        "FINSENT_AUTHOR_HASH_KEY": AUTHOR_KEY,
    }
