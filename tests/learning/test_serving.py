"""Loading the routes' models: defaults, sharing, and one-line errors for unknown model names."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from config.components import ModelSettings, RouteSettings
from config.errors import ConfigError
from config.routes import Route
from learning.serving import check_route_models, route_model, route_sources, routes_in_force
from models.artifact import ARTIFACTS_DIR, SPEC_FILE, STUDENT
from models.follow import FixedModel


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each model load, by the name it was asked for (a stand-in is returned, nothing is read)."""
    seen: list[str] = []

    def fake_load(name: str | None, **options: object) -> SimpleNamespace:
        seen.append(str(name))
        return SimpleNamespace(model_version=f"loaded:{name}", predict=lambda texts: [])

    monkeypatch.setattr("learning.serving.load_classifier", fake_load)
    return seen


def settings(routes: tuple[Route, ...] | None, fallback: str = "default") -> RouteSettings:
    return RouteSettings(routes=routes, fallback=fallback, backlog_s=30.0, recover_s=10.0)


def model(name: str | None = None, device: str = "cpu") -> ModelSettings:
    return ModelSettings(name=name, backend="auto", max_windows=8, device=device)


def served() -> FixedModel:
    return FixedModel(SimpleNamespace(model_version="served", predict=lambda texts: []))  # type: ignore[arg-type]


def test_by_default_news_goes_to_the_teacher_unless_a_model_is_configured() -> None:
    assert routes_in_force(settings(None), model()) == (Route("news", None, "finsent-mpnet"),)
    assert routes_in_force(settings(None), model("/my/model")) == ()
    assert routes_in_force(settings(()), model()) == ()


def test_each_model_is_loaded_once_and_the_served_model_is_shared(loads: list[str], tmp_path: Path) -> None:
    directory = tmp_path / "m"
    directory.mkdir()
    shutil.copy(ARTIFACTS_DIR / STUDENT / SPEC_FILE, directory / SPEC_FILE)
    routes = (
        Route("news", None, str(directory)),
        Route("news", "reuters", f"{directory}/"),
        Route("social", None, STUDENT),  # the configured model's own name: the served model
    )
    default = served()
    sources = route_sources(settings(routes), model(STUDENT), default)
    assert loads == [str(directory)]
    assert sources[str(directory)] is sources[f"{directory}/"]
    assert sources[STUDENT] is default and sources["default"] is default


def test_on_cuda_the_default_news_route_is_the_served_teacher(loads: list[str]) -> None:
    default = served()
    sources = route_sources(settings(None), model(device="cuda"), default)
    assert sources["finsent-mpnet"] is default and loads == []


def test_an_unknown_model_is_a_one_line_error_before_anything_loads(loads: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        route_sources(settings((Route("news", None, "finsent-bert"),)), model(), served())
    assert str(caught.value).startswith("FINSENT_ROUTES: unknown model 'finsent-bert' for news (a shipped model")
    assert "\n" not in str(caught.value)
    with pytest.raises(ConfigError, match="unknown model 'nope' for the fallback"):
        route_sources(settings((), fallback="nope"), model(), served())
    assert loads == []


def test_a_route_model_alone_is_loaded_as_the_worker_would(loads: list[str]) -> None:
    default = served()
    assert route_model("default", model(STUDENT), default) is default
    assert route_model(STUDENT, model(STUDENT), default) is default  # the configured model's own name
    teacher = route_model("finsent-mpnet", model(STUDENT), default)
    assert teacher is not default and teacher.current().model_version == "loaded:finsent-mpnet"
    assert loads == ["finsent-mpnet"]
    assert check_route_models(settings((Route("news", None, "finsent-mpnet"),)), model()) == [
        "finsent-mpnet",
        "default",
    ]
