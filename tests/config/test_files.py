"""The data directory is private to the user that runs finsent."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.files import private_dir


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_missing_directories_are_created_private(tmp_path: Path) -> None:
    target = tmp_path / "data" / "chdb"
    assert private_dir(target) == target
    assert mode(target) == 0o700 and mode(tmp_path / "data") == 0o700


def test_an_existing_open_directory_is_made_private_with_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target = tmp_path / "chdb"
    target.mkdir(mode=0o755)
    os.chmod(tmp_path, 0o755)
    with caplog.at_level(logging.WARNING, logger="config.files"):
        private_dir(target)
        private_dir(target)
    assert mode(target) == 0o700
    assert mode(tmp_path) == 0o755, "a parent that exists is the operator's"
    assert [r.getMessage() for r in caplog.records] == [f"made {target} private to its owner (mode 700, was 755)"]


def test_a_private_directory_is_left_alone(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    target = tmp_path / "chdb"
    target.mkdir(mode=0o500)
    with caplog.at_level(logging.WARNING, logger="config.files"):
        private_dir(target)
    assert mode(target) == 0o500 and caplog.records == []
