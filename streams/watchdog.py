"""A worker whose Kafka brokers have all gone says so, then exits, instead of hanging silently.

Faust and aiokafka retry a vanished broker forever and log only at the transport level; a worker
in that state may also sit out SIGTERM. The watchdog probes the bootstrap servers with a TCP
connect every few seconds, logs a clear error while none answers, and after ``give_up_s`` exits
the process with status 75 (EX_TEMPFAIL) so a supervisor (systemd, compose, Kubernetes)
restarts it when the brokers are back. Committed offsets and the store's dedupe make that
restart lose and duplicate nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

EXIT_BROKER_GONE = 75


def reachable(bootstrap: str, timeout_s: float = 2.0) -> bool:
    """Whether any ``host:port`` of a bootstrap list accepts a TCP connection."""
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host.strip("[]") or "localhost", int(port)), timeout=timeout_s):
                return True
        except (OSError, ValueError):
            continue
    return False


class BrokerWatchdog:
    """Probes ``bootstrap`` every ``interval_s``; after ``give_up_s`` without an answer, calls ``give_up``."""

    def __init__(
        self,
        bootstrap: str,
        give_up_s: float,
        interval_s: float = 2.0,
        probe: Callable[[str], bool] = reachable,
        give_up: Callable[[], None] = lambda: os._exit(EXIT_BROKER_GONE),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bootstrap = bootstrap
        self.give_up_s = give_up_s
        self.interval_s = interval_s
        self._probe = probe
        self._give_up = give_up
        self._clock = clock
        self._down_since: float | None = None
        self._stop = threading.Event()

    def check(self) -> None:
        """One probe: log the outage while it lasts, give up when it lasted too long."""
        if self._probe(self.bootstrap):
            if self._down_since is not None:
                log.warning("Kafka at %s is reachable again", self.bootstrap)
            self._down_since = None
            return
        now = self._clock()
        self._down_since = self._down_since if self._down_since is not None else now
        down_for = now - self._down_since
        if down_for >= self.give_up_s:
            log.critical(
                "Kafka at %s has been unreachable for %.0f s: exiting (status %d) so the supervisor restarts "
                "this worker once it is back; nothing acknowledged is lost",
                self.bootstrap,
                down_for,
                EXIT_BROKER_GONE,
            )
            logging.shutdown()
            self._give_up()
        else:
            log.error(
                "cannot reach Kafka at %s for %.0f s; giving up after %.0f s", self.bootstrap, down_for, self.give_up_s
            )

    def start(self) -> BrokerWatchdog:
        threading.Thread(target=self._run, name="broker-watchdog", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.check()
