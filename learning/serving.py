"""The model a worker or API process serves: the registry's active version (else the configured one), followed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from config.components import LearningSettings, ModelSettings
from learning.registry import Registry
from models import Classifier, NullClassifier, load_classifier
from models.follow import FixedModel, ModelFollower
from storage import Store


def model_loader(model: ModelSettings) -> Callable[[str | Path | None], Classifier | NullClassifier]:
    """Load a model by name or directory the way this deployment runs models (device, backend, window cap)."""

    def load(name_or_path: str | Path | None) -> Classifier | NullClassifier:
        where = str(name_or_path) if name_or_path is not None else None
        return load_classifier(where, device=model.device, backend=model.backend, max_windows=model.max_windows)

    return load


def serving_models(store: Store, learning: LearningSettings, model: ModelSettings) -> FixedModel | ModelFollower:
    """Load what should serve now; with ``learning.follow``, switch whenever another version is promoted.

    The caller stops a returned ``ModelFollower`` when it shuts down.
    """
    registry = Registry(store, learning.registry_dir)
    load = model_loader(model)
    active = registry.active()
    initial = load(Path(active.path) if active else model.name)
    if not learning.follow:
        return FixedModel(initial)
    return ModelFollower(initial, registry.resolver(), load, learning.poll_s).start()
