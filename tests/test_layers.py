"""Imports flow one way: configuration and schemas at the bottom, the CLI package on top.

Every ``import`` of every module (function-level ones too) is read with ``ast``; a package
that reaches for one above it fails here with the file that does it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED: dict[str, set[str]] = {
    "config": set(),
    "schemas": set(),
    "models": {"config", "schemas"},
    "storage": {"config", "schemas"},
    "ingest": {"config", "schemas"},
    "streams": {"config", "schemas", "models", "storage"},
    # The alert agent runs on the stream's Faust plumbing; streams never import alerts.
    "alerts": {"config", "schemas", "storage", "streams"},
    "api": {"config", "schemas", "models", "storage", "alerts"},
    "finsent": {"config", "schemas", "models", "storage", "ingest", "streams", "alerts", "api"},
}


def imported_packages(package: str) -> dict[str, set[str]]:
    """Our top-level packages that ``package`` imports, each with the files that import it."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in ALLOWED and top != package:
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_packages_below_it(package: str) -> None:
    upward = {top: files for top, files in imported_packages(package).items() if top not in ALLOWED[package]}
    assert not upward, f"{package} imports {upward}"


def test_the_cli_package_is_imported_by_nothing() -> None:
    for package in ALLOWED:
        if package != "finsent":
            assert "finsent" not in imported_packages(package), package


def test_the_checker_sees_a_violation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "bad.py").write_text("def f():\n    from streams.app import create_app\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert imported_packages("schemas") == {"streams": {"schemas/bad.py"}}
