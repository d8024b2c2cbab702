"""Hot swap: follow the model version the deployment says is active, without a restart.

``ModelFollower`` asks ``resolve`` (in practice: the store's active version) every ``poll_s``
seconds. When the answer changes it loads the new model in its own thread, beside the old one,
and only then switches; callers take ``current()`` once per batch or request, so a batch is
always scored by one model and nothing waits for a load. A version that fails to load is
logged and left; the old model keeps serving.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from models.background import BackgroundThread

log = logging.getLogger(__name__)


class Scorer(Protocol):
    """What the pipeline and the API need of a model (``Classifier`` or ``NullClassifier``)."""

    @property
    def model_version(self) -> str: ...

    def predict(self, texts: list[str]) -> list: ...


@dataclass(frozen=True)
class ActiveModel:
    """Which version should serve, and where its files are."""

    version: str
    path: Path


def registry_version(model: Scorer) -> str:
    """The version a model was trained as, without the backend (``v2`` of ``v2+onnx-int8``)."""
    return model.model_version.split("+", 1)[0]


class ModelSource(Protocol):
    def current(self) -> Scorer: ...


class FixedModel:
    """One model for the life of the process (no registry, or following turned off)."""

    def __init__(self, model: Scorer) -> None:
        self._model = model

    def current(self) -> Scorer:
        return self._model


def model_source(model: Scorer | FixedModel | ModelFollower) -> FixedModel | ModelFollower:
    """``model`` as something to take ``current()`` from: a follower or fixed model as it is, a model fixed."""
    return model if isinstance(model, FixedModel | ModelFollower) else FixedModel(model)


class ModelFollower:
    """The active model of the moment; see the module docstring."""

    def __init__(
        self,
        initial: Scorer,
        resolve: Callable[[], ActiveModel | None],
        load: Callable[[Path], Scorer],
        poll_s: float = 5.0,
    ) -> None:
        self._model = initial
        self._version = registry_version(initial)
        self._resolve = resolve
        self._load = load
        self._poll_s = poll_s
        self._failed: str | None = None
        self._background = BackgroundThread("finsent-model-follower", self._run)

    def current(self) -> Scorer:
        return self._model

    def check(self) -> bool:
        """Look once; load and switch if another version is active. True if it switched."""
        try:
            wanted = self._resolve()
        except Exception as exc:  # the store may be briefly away: keep serving, ask again later
            log.warning("could not read the active model version: %s", exc)
            return False
        if wanted is None or wanted.version in (self._version, self._failed):
            return False
        try:
            loaded = self._load(wanted.path)
        except Exception as exc:
            self._failed = wanted.version
            log.error("model %s (%s) did not load, still serving %s: %s",
                      wanted.version, wanted.path, self._model.model_version, exc)  # fmt: skip
            return False
        if registry_version(loaded) != wanted.version:
            self._failed = wanted.version
            log.error("%s holds model %s, not %s: still serving %s",
                      wanted.path, loaded.model_version, wanted.version, self._model.model_version)  # fmt: skip
            return False
        previous, self._model, self._version = self._version, loaded, wanted.version
        log.warning("switched model %s -> %s", previous, wanted.version)
        return True

    def start(self) -> ModelFollower:
        self._background.start()
        return self

    def stop(self) -> None:
        self._background.stop()

    def _run(self, stopping: threading.Event) -> None:
        while not stopping.wait(self._poll_s):
            self.check()
