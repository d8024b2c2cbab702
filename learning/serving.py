"""The model a worker or API process serves: the registry's active version (else the configured one), followed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from config.components import LearningSettings, ModelSettings
from learning.registry import Registry
from models import NULL_MODEL, Classifier, NullClassifier, load_classifier
from models.artifact import ARTIFACTS_DIR, SHIPPED_MODELS, ModelSpec, default_model_name, resolve_model_dir
from models.backends import wants_cuda
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


@dataclass(frozen=True)
class ConfiguredModel:
    """The model that serves while no registered version is active: ``FINSENT_MODEL`` or the shipped default."""

    name: str
    version: str
    path: Path | None
    """None for a hub id: it is downloaded only when a process loads it."""


def configured_model_name(model: ModelSettings) -> str:
    """``FINSENT_MODEL``, else the shipped model ``Classifier.load`` picks for this device and backend."""
    if model.name:
        return model.name
    on_cuda = model.backend.startswith("cuda") or (model.backend == "auto" and wants_cuda(model.device))
    return default_model_name(on_cuda)


def configured_model(model: ModelSettings) -> ConfiguredModel | None:
    """What ``serving_models`` loads when the registry has no active version; None for the ``null`` model."""
    name = configured_model_name(model)
    if name == NULL_MODEL:
        return None
    return local_model(name) or ConfiguredModel(name, name, None)


def local_model(name: str) -> ConfiguredModel | None:
    """A shipped model (by name or version) or a model directory, found without downloading anything."""
    for shipped in SHIPPED_MODELS:
        path = ARTIFACTS_DIR / shipped
        if name == shipped or (path.is_dir() and name == ModelSpec.from_dir(path).model_version):
            name = shipped
    if name not in SHIPPED_MODELS and not Path(name).expanduser().is_dir():
        return None
    path = resolve_model_dir(name)
    return ConfiguredModel(name, ModelSpec.from_dir(path).model_version, path)
