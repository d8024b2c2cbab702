"""``BackgroundThread``: the model follower's and the shadow scorer's thread, started and stopped."""

from __future__ import annotations

import threading

from models.background import BackgroundThread


def test_the_thread_runs_until_stopped_and_is_gone_after_stop() -> None:
    started, seen_stop = threading.Event(), threading.Event()

    def run(stopping: threading.Event) -> None:
        started.set()
        stopping.wait()
        seen_stop.set()

    background = BackgroundThread("finsent-test-background", run)
    background.start()
    assert started.wait(5)
    thread = next(t for t in threading.enumerate() if t.name == "finsent-test-background")
    assert thread.daemon and not seen_stop.is_set()
    background.stop()
    assert seen_stop.is_set() and not thread.is_alive()


def test_stopping_a_thread_never_started_does_nothing() -> None:
    background = BackgroundThread("finsent-never-started", lambda stopping: None)
    background.stop()
    assert background.stopping.is_set()
