"""The stream fixtures (a broker and a worker environment per test), shared with tests/streams."""

from tests.streams.conftest import broker, worker_env

__all__ = ["broker", "worker_env"]
