"""A ``finsent worker`` subprocess: start, watch its stats, stop or kill it.

The demo, the crash test and the benchmarks all drive real worker processes through this.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from finsent.dev.broker import ChildProcess, die_with_parent, free_port
from streams.exceptions import StreamError


def worker_env(
    bootstrap: str,
    data_dir: Path,
    group: str,
    author_key: str,
    *,
    model: str | None = None,
    backend: str = "auto",
    session_timeout_s: float = 6,
    batch_max_size: int | None = None,
    store_url: str | None = None,
    stories: bool = True,
) -> dict[str, str]:
    """The environment of a worker on ``bootstrap`` with its own data dir and consumer group (quiet logs)."""
    env = {
        "FINSENT_KAFKA_BOOTSTRAP": bootstrap,
        "FINSENT_DATA_DIR": str(data_dir),
        "FINSENT_CONSUMER_GROUP": group,
        "FINSENT_KAFKA_SESSION_TIMEOUT_S": f"{session_timeout_s:g}",
        "FINSENT_MODEL_BACKEND": backend,
        "FINSENT_AUTHOR_HASH_KEY": author_key,
        "FINSENT_LOG_LEVEL": "WARNING",
        "FINSENT_STORIES_ENABLED": str(stories).lower(),
    }
    optional = {"FINSENT_MODEL": model, "FINSENT_BATCH_MAX_SIZE": batch_max_size, "FINSENT_STORE_URL": store_url}
    env.update({name: str(value) for name, value in optional.items() if value})
    return env


class WorkerProcess(ChildProcess):
    """One worker subprocess with its own web port (for ``/finsent/stats``) and log file; ``stop`` is graceful
    (SIGTERM: Faust commits the acked offsets) before the SIGKILL."""

    def __init__(self, env: Mapping[str, str], log_file: Path, web_port: int | None = None):
        self.web_port = web_port or free_port()
        self.log_file: Path = log_file
        self.env = {**os.environ, **env, "FINSENT_WEB_PORT": str(self.web_port)}
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "finsent.cli", "worker"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # Its own session: a Ctrl-C in the terminal reaches the parent, which decides when to stop it.
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        return self

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def returncode(self) -> int | None:
        """The exit status once the process has ended (negative: killed by that signal), else None."""
        return self._process.poll() if self._process is not None else None

    def stats(self) -> dict[str, float] | None:
        """The worker's running totals, or None while its web server is not up."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/finsent/stats", timeout=1) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def wait_for_stat(self, key: str, at_least: float, timeout_s: float, poll_s: float = 0.2) -> dict[str, float]:
        """Block until the worker's ``key`` stat reaches ``at_least``; its stats then.

        Raises StreamError with the worker's log tail if it died or ``timeout_s`` passed first.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            stats = self.stats() or {}
            if stats.get(key, 0) >= at_least:
                return stats
            if not self.alive():
                raise StreamError(f"worker exited before {key} reached {at_least}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise StreamError(f"worker {key} did not reach {at_least} within {timeout_s:.0f}s:\n{self.log_tail()}")
            time.sleep(poll_s)

    def wait_ready(self, timeout_s: float = 180.0, assigned: bool = True) -> None:
        """Block until the worker serves its stats page (and, with ``assigned``, owns partitions).

        Raises with the worker's log tail if it died or took longer than ``timeout_s``.
        """
        deadline = time.monotonic() + timeout_s
        while not self._ready(assigned):
            if not self.alive():
                raise StreamError(f"worker exited during start-up:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise StreamError(f"worker not ready after {timeout_s:.0f}s:\n{self.log_tail()}")
            time.sleep(0.2)

    def _ready(self, assigned: bool) -> bool:
        stats = self.stats()
        return stats is not None and (not assigned or stats.get("assigned_partitions", 0) > 0)

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
