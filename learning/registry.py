"""The model registry: versions and their lineage in the store, files under one directory, one active version.

Every worker and API process asks the store which version is active (``resolver``), so they
agree; promotion and rollback are rows in ``model_activations``, never a file edit or a restart.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from learning.exceptions import LearningError
from models.artifact import ModelSpec, resolve_model_dir
from models.exceptions import ModelError
from models.follow import ActiveModel
from schemas.learning import ModelActivationRow, ModelVersionRow, ShadowSettingRow
from storage import Store
from storage.learning import (
    activations,
    active_version,
    model_version,
    model_versions,
    record_activation,
    set_shadow,
)
from storage.learning import register_version as store_version


class Registry:
    """Registered model versions in ``store``; new versions' files go under ``directory``."""

    def __init__(self, store: Store, directory: Path) -> None:
        self.store = store
        self.directory = directory.expanduser().resolve()

    def versions(self) -> list[ModelVersionRow]:
        return model_versions(self.store)

    def show(self, version: str) -> ModelVersionRow:
        row = model_version(self.store, version)
        if row is None:
            raise LearningError(f"no model version {version!r}: see `finsent models list`")
        return row

    def active(self) -> ModelVersionRow | None:
        return active_version(self.store)

    def history(self, limit: int = 20) -> list[ModelActivationRow]:
        return activations(self.store, limit)

    def new_directory(self, version: str) -> Path:
        target = self.directory / version
        if target.exists():
            raise LearningError(f"{target} exists already: a version is trained once")
        return target

    def register(self, path: Path, parent: str, summary: dict[str, Any], metrics: dict[str, Any]) -> ModelVersionRow:
        """Record the trained model in ``path`` (its version is the one it was trained as)."""
        version = _spec(path).model_version
        row = ModelVersionRow(
            version=version,
            parent=parent,
            path=str(path.resolve()),
            created_at=datetime.now(UTC).replace(microsecond=0),
            summary=json.dumps(summary, sort_keys=True, default=str),
            metrics=json.dumps(metrics, sort_keys=True, default=str),
        )
        store_version(self.store, row)
        return row

    def adopt(self, model: str | None) -> ModelVersionRow:
        """The configured model (``FINSENT_MODEL`` or the shipped default) as a registered root version."""
        try:
            path = resolve_model_dir(model)
        except ModelError as exc:
            raise LearningError(f"cannot use the configured model as the first version: {exc}") from exc
        known = model_version(self.store, _spec(path).model_version)
        if known is not None:
            return known
        return self.register(path, parent="", summary={"adopted": str(model or "the shipped default")}, metrics={})

    def promote(self, version: str, reason: str, actor: str) -> ModelActivationRow:
        """Make ``version`` active; every process switches to it within its poll interval."""
        row = self.show(version)
        _spec(Path(row.path))
        current = self.active()
        if current is not None and current.version == version:
            raise LearningError(f"{version} is already the active version")
        activation = ModelActivationRow(
            **_change_stamp(),
            version=version,
            previous=current.version if current else "",
            reason=reason,
            actor=actor,
        )
        record_activation(self.store, activation)
        return activation

    def rollback(self, actor: str) -> ModelActivationRow:
        """Go back to the version that was active before the current one."""
        history = self.history(1)
        if not history or not history[0].previous:
            raise LearningError("nothing to roll back to: no version was active before the current one")
        return self.promote(history[0].previous, f"rollback from {history[0].version}", actor)

    def shadow(self, version: str, sample_rate: float, actor: str) -> ShadowSettingRow:
        """Have ``version`` score ``sample_rate`` of live documents beside the active model ('' turns it off)."""
        if version:
            _spec(Path(self.show(version).path))
        if not 0 <= sample_rate <= 1:
            raise LearningError(f"a sample rate is a share of documents, from 0 to 1, not {sample_rate}")
        row = ShadowSettingRow(
            **_change_stamp(), version=version, sample_rate=sample_rate if version else 0.0, actor=actor
        )
        set_shadow(self.store, row)
        return row

    def resolver(self) -> Callable[[], ActiveModel | None]:
        """What ``ModelFollower`` asks: the active version and its directory (None before any promotion)."""

        def resolve() -> ActiveModel | None:
            row = self.active()
            return ActiveModel(row.version, Path(row.path)) if row else None

        return resolve


def _change_stamp() -> dict[str, Any]:
    """A registry change's ``sequence`` (microseconds since the epoch: later changes win) and its ``changed_at``."""
    now_ns = time.time_ns()
    return {"sequence": now_ns // 1_000, "changed_at": datetime.fromtimestamp(now_ns // 1_000_000_000, UTC)}


def _spec(path: Path) -> ModelSpec:
    try:
        return ModelSpec.from_dir(path)
    except (ModelError, OSError, ValueError) as exc:
        raise LearningError(f"{path} does not hold a finsent model: {exc}") from exc
