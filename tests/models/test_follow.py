"""Hot swap: ``ModelFollower`` switches to the active version between calls, and keeps serving when it cannot."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from models.follow import ActiveModel, FixedModel, ModelFollower


@dataclass
class Stub:
    model_version: str

    def predict(self, texts: list[str]) -> list:
        return [self.model_version] * len(texts)


def test_it_switches_only_when_another_version_is_active_and_loads() -> None:
    active: list[ActiveModel | None] = [None]
    loads: list[Path] = []

    def load(path: Path) -> Stub:
        loads.append(path)
        if path.name == "broken":
            raise OSError("no such model")
        return Stub(f"{path.name}+onnx-int8")

    follower = ModelFollower(Stub("v1+onnx-int8"), lambda: active[0], load)
    held = follower.current()
    assert follower.check() is False and loads == []
    active[0] = ActiveModel("v1", Path("/m/v1"))
    assert follower.check() is False and loads == [], "the version it serves is not loaded again"
    active[0] = ActiveModel("v2", Path("/m/v2"))
    assert follower.check() is True and follower.current().model_version == "v2+onnx-int8"
    assert held.model_version == "v1+onnx-int8", "a batch that took the old model keeps it"
    active[0] = ActiveModel("v3", Path("/m/broken"))
    assert follower.check() is False and follower.current().model_version == "v2+onnx-int8"
    assert follower.check() is False and loads.count(Path("/m/broken")) == 1, "a failed version is not retried"
    active[0] = ActiveModel("v4", Path("/m/v9"))
    assert follower.check() is False, "a directory holding another version is refused"
    active[0] = ActiveModel("v1", Path("/m/v1"))
    assert follower.check() is True and follower.current().model_version == "v1+onnx-int8", "rollback"


def test_an_unreadable_store_keeps_the_current_model() -> None:
    def resolve() -> ActiveModel | None:
        raise ConnectionError("store away")

    follower = ModelFollower(Stub("v1"), resolve, lambda path: Stub("never"))
    assert follower.check() is False and follower.current().model_version == "v1"
    assert FixedModel(Stub("v1")).current().model_version == "v1"
