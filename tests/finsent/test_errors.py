"""Every FinsentError ends a command in one line and its own exit code; --verbose adds the traceback."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from config.errors import ConfigError, FinsentError
from finsent.clisupport import FinsentGroup
from models.exceptions import ModelConfigError, ModelError
from storage.exceptions import StoreConfigError, StoreUnavailable
from streams.exceptions import StreamError


def _cli(error: Exception) -> click.Group:
    @click.group(cls=FinsentGroup)
    @click.option("--verbose", "-v", is_flag=True)
    def root(verbose: bool) -> None:
        pass

    @root.group()
    def nested() -> None:
        pass

    @nested.command()
    def fail() -> None:
        raise error

    return root


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (StoreUnavailable("cannot reach ClickHouse at 127.0.0.1:9000: connection refused\nTraceback junk"), 3),
        (StoreConfigError("unsupported store URL scheme 'mysql'"), 2),
        (ModelConfigError("model dir x is not a finsent model directory"), 2),
        (ModelError("backend failed"), 4),
        (StreamError("broker gone"), 6),
        (ConfigError("FINSENT_API_PORT must be a port"), 2),
    ],
)
def test_errors_are_one_line_with_their_exit_code(error: FinsentError, code: int, monkeypatch) -> None:
    monkeypatch.delenv("FINSENT_LOG_LEVEL", raising=False)
    result = CliRunner().invoke(_cli(error), ["nested", "fail"])
    assert result.exit_code == code
    assert result.output.strip().splitlines() == [f"Error: {str(error).splitlines()[0]}"]
    assert "Traceback" not in result.output


def test_verbose_shows_the_traceback(monkeypatch) -> None:
    monkeypatch.delenv("FINSENT_LOG_LEVEL", raising=False)
    result = CliRunner().invoke(_cli(StoreUnavailable("down")), ["--verbose", "nested", "fail"])
    assert result.exit_code == 3
    assert "Traceback" in result.output and "Error: down" in result.output


def test_other_exceptions_are_not_hidden() -> None:
    result = CliRunner().invoke(_cli(RuntimeError("a bug")), ["nested", "fail"])
    assert isinstance(result.exception, RuntimeError)


def test_a_query_on_a_mistyped_data_dir_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    from finsent.cli import main

    typo = tmp_path / "finsnet-data"
    result = CliRunner().invoke(main, ["query", "documents"], env={"FINSENT_DATA_DIR": str(typo)})
    assert result.exit_code == 2, result.output
    assert "no finsent store at" in result.output and "FINSENT_DATA_DIR" in result.output
    assert "Traceback" not in result.output and "SELECT" not in result.output
    assert len(result.output.strip().splitlines()) == 1 and not typo.exists()
