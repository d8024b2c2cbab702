"""The subprocesses the dev tools own (broker, worker): stopped on exit, their log's tail readable."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Self

from finsent.dev.broker import ChildProcess


class Sleeper(ChildProcess):
    """A child that ignores nothing: SIGTERM ends it."""

    stop_timeout_s = 5.0

    def __init__(self, log_file: Path | None = None) -> None:
        self.log_file = log_file

    def start(self) -> Self:
        self._process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        return self


def test_exit_stops_the_child_with_sigterm() -> None:
    with Sleeper() as sleeper:
        process = sleeper._process
        assert process is not None and process.poll() is None
    assert process.returncode == -signal.SIGTERM
    assert sleeper.stop() == -signal.SIGTERM  # stopping again is harmless


def test_a_child_never_started_stops_to_none() -> None:
    assert Sleeper().stop() is None


def test_log_tail_reads_the_last_lines_or_says_there_is_none(tmp_path: Path) -> None:
    log = tmp_path / "child.log"
    assert Sleeper(log).log_tail() == "(no log)"
    assert Sleeper().log_tail() == "(no log)"
    log.write_text("".join(f"line {n}\n" for n in range(50)))
    assert Sleeper(log).log_tail(lines=2) == "line 48\nline 49"
