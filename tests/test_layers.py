"""Imports flow one way: configuration and schemas at the bottom, the CLI package on top.

Every ``import`` of every module (function-level ones too) is read with ``ast``; a package
that reaches for one above it fails here with the file that does it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED: dict[str, set[str]] = {
    "config": set(),
    "schemas": {"config"},
    "models": {"config", "schemas"},
    "storage": {"config", "schemas"},
    "ingest": {"config", "schemas"},
    "streams": {"config", "schemas", "models", "storage"},
    "alerts": {"config", "schemas", "storage"},
    "learning": {"config", "schemas", "models", "storage"},
    "api": {"config", "schemas", "models", "storage", "alerts", "learning"},
    "finsent": {"config", "schemas", "models", "storage", "ingest", "streams", "alerts", "api", "learning"},
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


SQL = re.compile(
    r"\b(SELECT\b[\s\S]{0,400}?\bFROM|INSERT\s+INTO|ALTER\s+TABLE|CREATE\s+(TABLE|MATERIALIZED|VIEW|DATABASE)"
    r"|DROP\s+(TABLE|VIEW)|OPTIMIZE\s+TABLE|TRUNCATE\s+TABLE)\b"
)
CODE_OUTSIDE_STORAGE = [name for name in ALLOWED if name != "storage"] + ["benchmarks"]


def sql_outside_storage(root: Path) -> list[str]:
    """Files outside ``storage/`` (tests aside) holding SQL statements or .sql files."""
    found = []
    for package in CODE_OUTSIDE_STORAGE:
        for path in sorted((root / package).rglob("*")):
            if path.suffix == ".sql" or (path.suffix == ".py" and SQL.search(path.read_text())):
                found.append(str(path.relative_to(root)))
    return found


def test_no_sql_outside_storage() -> None:
    assert sql_outside_storage(ROOT) == []


def test_the_sql_check_finds_a_query(tmp_path: Path) -> None:
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "leak.py").write_text('ROWS = "SELECT doc_id\\n  FROM documents"\n')
    assert sql_outside_storage(tmp_path) == ["api/leak.py"]


STORE_INTERNALS = re.compile(r"\.(_query|_query_dicts|_query_json|_insert_records|_select|_insert|_command)\(")


def store_internals_outside_storage(root: Path) -> list[str]:
    """Files outside ``storage/`` (tests aside) that run raw SQL through a store's internals."""
    found = []
    for package in CODE_OUTSIDE_STORAGE:
        for path in sorted((root / package).rglob("*.py")):
            if STORE_INTERNALS.search(path.read_text()):
                found.append(str(path.relative_to(root)))
    return found


def test_only_storage_runs_raw_queries() -> None:
    from storage import Store

    assert not [name for name in vars(Store) if name.startswith("query")]
    assert store_internals_outside_storage(ROOT) == []


def test_the_internals_check_finds_a_raw_query(tmp_path: Path) -> None:
    (tmp_path / "alerts").mkdir()
    (tmp_path / "alerts" / "leak.py").write_text("rows = store._query(sql)\n")
    assert store_internals_outside_storage(tmp_path) == ["alerts/leak.py"]
