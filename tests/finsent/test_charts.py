"""``finsent query sentiment --plot``: the chart is right for one bucket, for gaps, and refuses non-images."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from finsent.query import bucket_grid, check_plot_path, plot_sentiment

START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
END = START + timedelta(hours=2)
STEP = 600


def point(minutes: int, docs: int, score: float) -> dict:
    return {"time": START + timedelta(minutes=minutes), "docs": docs, "mean_score": score}


def test_empty_buckets_break_the_line_and_count_zero() -> None:
    times, scores, volumes = bucket_grid([point(0, 3, 0.5), point(50, 2, -0.25)], START, END, STEP)
    assert len(times) == 12 and times[0] == START and times[-1] == END - timedelta(seconds=STEP)
    assert volumes == [3, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0]
    assert scores[0] == 0.5 and scores[5] == -0.25
    assert all(math.isnan(score) for index, score in enumerate(scores) if index not in {0, 5})


def test_naive_times_from_the_store_are_read_as_utc() -> None:
    naive = {"time": START.replace(tzinfo=None), "docs": 1, "mean_score": 0.1}
    assert bucket_grid([naive], START, END, STEP)[2][0] == 1


@pytest.mark.parametrize("series", [[point(30, 4, 0.4)], [point(0, 3, 0.5), point(10, 1, 0.2), point(90, 7, -0.6)]])
def test_one_bucket_and_gappy_series_draw(tmp_path: Path, series: list[dict]) -> None:
    alerts = [{"fired_at": START + timedelta(minutes=95), "rule_id": "gloom", "severity": "warning"}]
    out = plot_sentiment(series, alerts, "NVDA: sentiment and volume per 10m", tmp_path / "chart.png", STEP, START, END)
    assert out.read_bytes().startswith(b"\x89PNG") and out.stat().st_size > 10_000


@pytest.mark.parametrize("name", ["victim.txt", "notes", "chart.png.sh"])
def test_non_image_paths_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match=r"--plot must name a \.png, \.svg, \.pdf file"):
        check_plot_path(Path(name))


def test_the_cli_refuses_a_non_image_plot_before_touching_the_store(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from finsent.cli import main

    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    result = CliRunner().invoke(main, ["query", "sentiment", "--symbol", "NVDA", "--plot", str(victim)],
                                env={"FINSENT_DATA_DIR": str(tmp_path / "nowhere")})  # fmt: skip
    assert result.exit_code == 2 and "--plot must name" in result.output
    assert "Traceback" not in result.output and victim.read_text() == "keep me"
    assert not (tmp_path / "nowhere").exists()
