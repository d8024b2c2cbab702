"""The model a worker or API process serves: the registry's active version (else the configured one), followed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from config.components import LearningSettings, ModelSettings, RouteSettings
from config.errors import ConfigError
from config.routes import DEFAULT_MODEL, Route
from learning.registry import Registry
from models import NULL_MODEL, Classifier, NullClassifier, load_classifier
from models.artifact import (
    ARTIFACTS_DIR,
    SHIPPED_MODELS,
    SPEC_FILE,
    TEACHER,
    ModelSpec,
    default_model_name,
    resolve_model_dir,
)
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


def routes_in_force(routing: RouteSettings, model: ModelSettings) -> tuple[Route, ...]:
    """``FINSENT_ROUTES``, else the default: news read by the shipped teacher while ``FINSENT_MODEL`` is
    unset (on CUDA the teacher is the served model as well), no routes when a model is configured."""
    if routing.routes is not None:
        return routing.routes
    if model.name is None and (ARTIFACTS_DIR / TEACHER / SPEC_FILE).is_file():
        return (Route("news", None, TEACHER),)
    return ()


def route_sources(
    routing: RouteSettings, model: ModelSettings, served: FixedModel | ModelFollower
) -> dict[str, FixedModel | ModelFollower]:
    """The model each name of the routes in force and of the fallback stands for, each loaded once.

    ``default`` and the configured model's own name are ``served`` (so they follow the registry);
    another shipped model or a model directory is loaded beside it. Anything else is a
    ``ConfigError`` (one line), raised before any of these models is loaded.
    """
    wanted = check_route_models(routing, model)
    loaded: dict[str, FixedModel | ModelFollower] = {}
    sources: dict[str, FixedModel | ModelFollower] = {}
    for name in wanted:
        key = _model_key(name)
        if key not in loaded:
            loaded[key] = route_model(name, model, served)
        sources[name] = loaded[key]
    return sources


def check_route_models(routing: RouteSettings, model: ModelSettings) -> list[str]:
    """The model names the routes in force and the fallback use; ``ConfigError`` (one line) for one that
    is neither the served model, a shipped model, a model directory nor ``null``."""
    wanted = {route.model: route.name for route in routes_in_force(routing, model)}
    wanted.setdefault(routing.fallback, "the fallback (FINSENT_ROUTE_FALLBACK)")
    for name, used_by in wanted.items():
        if name not in _served_names(model) and name != NULL_MODEL and local_model(name) is None:
            raise ConfigError(
                f"FINSENT_ROUTES: unknown model {name!r} for {used_by} "
                f"(a shipped model: {', '.join(SHIPPED_MODELS)}; a model directory; or {DEFAULT_MODEL})"
            )
    return list(wanted)


def route_model(name: str, model: ModelSettings, served: FixedModel | ModelFollower) -> FixedModel | ModelFollower:
    """The model a route's ``name`` stands for: ``served`` for ``default`` or the configured model's own name
    (so it follows the registry), else that model, loaded the way this deployment runs models."""
    if name in _served_names(model):
        return served
    return FixedModel(model_loader(model)(name))


def _served_names(model: ModelSettings) -> set[str]:
    return {DEFAULT_MODEL, configured_model_name(model)}


def _model_key(name: str) -> str:
    """One key per model however it is named (a shipped name or its directory)."""
    found = local_model(name)
    return str(found.path.resolve()) if found is not None and found.path is not None else name
