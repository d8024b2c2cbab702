"""Every FinsentError ends a command in one line and its own exit code; --verbose adds the traceback."""

from __future__ import annotations

import ast
import builtins
import socket
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from api.exceptions import ClientGone
from config.errors import ConfigError, FinsentError
from finsent.cli import main
from finsent.clisupport import FinsentGroup
from ingest.exceptions import IngestError
from models.exceptions import ModelConfigError, ModelError
from schemas.exceptions import InvalidMessage
from storage.exceptions import StoreConfigError, StoreUnavailable
from streams.exceptions import ClassifierUnavailable, StreamError


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
        (IngestError("unknown format 'xml'"), 2),
        (ClassifierUnavailable("the classifier fails on a known-good text too"), 6),
        (ClientGone(), 8),
        (InvalidMessage("invalid news message: headline: field required"), 2),
    ],
)
def test_errors_are_one_line_with_their_exit_code(error: FinsentError, code: int, monkeypatch) -> None:
    monkeypatch.delenv("FINSENT_LOG_LEVEL", raising=False)
    result = CliRunner().invoke(_cli(error), ["nested", "fail"])
    assert result.exit_code == code
    assert result.output.strip().splitlines() == [f"Error: {(str(error) or type(error).__name__).splitlines()[0]}"]
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
    typo = tmp_path / "finsnet-data"
    result = CliRunner().invoke(main, ["query", "documents"], env={"FINSENT_DATA_DIR": str(typo)})
    assert result.exit_code == 2, result.output
    assert "no finsent store at" in result.output and "FINSENT_DATA_DIR" in result.output
    assert "Traceback" not in result.output and "SELECT" not in result.output
    assert len(result.output.strip().splitlines()) == 1 and not typo.exists()


ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("config", "schemas", "models", "storage", "ingest", "streams", "alerts", "learning", "api", "finsent")
BUILTIN_ERRORS = {name for name, value in vars(builtins).items() if isinstance(value, type)
                  and issubclass(value, BaseException)}  # fmt: skip


def errors_outside_the_tree(package: str) -> list[str]:
    """Classes of ``package`` that derive from built-in exceptions only (``FinsentError`` itself aside)."""
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.ClassDef) or node.name == "FinsentError":
                continue
            bases = [base.id if isinstance(base, ast.Name) else getattr(base, "attr", "") for base in node.bases]
            if bases and all(base in BUILTIN_ERRORS for base in bases):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_every_error_a_package_defines_is_a_finsent_error(package: str) -> None:
    assert errors_outside_the_tree(package) == []


def test_the_error_check_sees_a_bare_exception(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ingest").mkdir()
    (tmp_path / "ingest" / "bad.py").write_text("class Gone(RuntimeError):\n    pass\n\nclass Fine(Gone):\n    pass\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert errors_outside_the_tree("ingest") == ["ingest/bad.py:1 Gone"]


def test_eval_without_a_data_root_is_a_usage_error_before_any_model_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FINSENT_TRAINING_DATA", raising=False)
    result = CliRunner().invoke(main, ["eval", "--model", "/no/such/model/dir"])  # loading it would fail first
    assert result.exit_code == 2
    assert result.output.strip() == "Error: no data root: pass --data-root DIR or set FINSENT_TRAINING_DATA"


def test_a_model_error_keeps_its_exit_code(tmp_path: Path) -> None:
    data = tmp_path / "labelled.csv"
    data.write_text("text,label\nshares rose,positive\n")
    (tmp_path / "not-a-model").mkdir()
    result = CliRunner().invoke(main, ["eval", "--model", str(tmp_path / "not-a-model"), "--task", "sentiment",
                                       "--data", str(data)])  # fmt: skip
    assert result.exit_code == 2, result.output  # ModelConfigError's, where a ClickException made it 1
    assert "is not a finsent model directory" in result.output and len(result.output.strip().splitlines()) == 1


def test_replay_of_an_unknown_format_is_a_usage_error(tmp_path: Path) -> None:
    source = tmp_path / "feed.xml"
    source.write_text("<feed/>")
    result = CliRunner().invoke(main, ["replay", str(source), "--kind", "news"], env={"FINSENT_KAFKA_BOOTSTRAP": "x:1"})
    assert result.exit_code == 2 and "cannot tell the format" in result.output


def test_a_taken_api_port_exits_8_before_opening_the_store(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["api", "--port", str(port)], env={"FINSENT_DATA_DIR": str(tmp_path / "d")})
    assert result.exit_code == 8, result.output
    assert result.output.strip().startswith(f"Error: cannot listen on 127.0.0.1:{port}")
    assert not (tmp_path / "d").exists(), "the store is not opened for an API that cannot listen"
