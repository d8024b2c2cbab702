"""The worker's routes: a malformed FINSENT_ROUTES stops it in one line; the router it builds."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from config import Settings
from finsent.cli import main
from finsent.worker import worker_router
from models.follow import FixedModel


@pytest.mark.parametrize(
    ("routes", "says"),
    [
        ("news", "Error: FINSENT_ROUTES: 'news' is not a route; write KIND[:SOURCE]=MODEL"),
        ("tweets=finsent-minilm", "Error: FINSENT_ROUTES: unknown document kind 'tweets'"),
    ],
)
def test_a_malformed_route_stops_the_worker_in_one_line(
    routes: str, says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FINSENT_ROUTES", routes)
    monkeypatch.setenv("FINSENT_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["worker"])
    assert result.exit_code == 2
    assert result.output.strip().startswith(says) and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "tansu.log").exists()  # nothing was started


def test_the_worker_router_routes_news_to_the_teacher_and_falls_back_to_the_served_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("FINSENT_MODEL", "FINSENT_ROUTES", "FINSENT_ROUTE_FALLBACK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(
        "learning.serving.load_classifier",
        lambda name, **options: SimpleNamespace(model_version=f"{name}-v1", predict=lambda texts: []),
    )
    served = FixedModel(SimpleNamespace(model_version="finsent-minilm-v1", predict=lambda texts: []))  # type: ignore[arg-type]
    router = worker_router(Settings(device="cpu", route_backlog_s=5, route_recover_s=1), served)
    assert {name: figures.model for name, figures in router.snapshot().items()} == {
        "default": "finsent-minilm-v1",
        "news": "finsent-mpnet-v1",
    }
    assert router.fallback is served and router.backlog_s == 5 and router.recover_s == 1
