"""``BackgroundThread``: one daemon thread that runs until told to stop.

The model follower and the shadow scorer each keep one beside the event loop; ``run`` gets the
stop event and returns once it is set.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class BackgroundThread:
    """Runs ``run(stopping)`` in a named daemon thread; ``stop`` sets ``stopping`` and waits for it a while."""

    def __init__(self, name: str, run: Callable[[threading.Event], None]) -> None:
        self.name = name
        self.stopping = threading.Event()
        self._run = run
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, args=(self.stopping,), name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
