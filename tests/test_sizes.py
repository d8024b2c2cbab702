"""Small modules and small functions: no module of ours over 500 lines, no function over 60 (tests aside).

Lines are counted as a reader meets them: a module's every line, a function's from ``def`` to its
last line (decorators aside; a nested function counts within the one around it as well). A module or
function may pass a limit only by being named in ``ALLOWED_OVER`` with the reason, which the commit
that lets it grow must give too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.test_layers import ALLOWED

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = [*ALLOWED, "benchmarks"]
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60
ALLOWED_OVER: dict[str, str] = {}
"""``path`` or ``path:function`` → why it is longer than the limit."""


def oversized(root: Path, packages: list[str]) -> list[str]:
    """One line per module or function of ``packages`` over its limit, and not allowed to be."""
    found = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            name = str(path.relative_to(root))
            source = path.read_text()
            lines = len(source.splitlines())
            if lines > MAX_MODULE_LINES and name not in ALLOWED_OVER:
                found.append(f"{name}: {lines} lines (at most {MAX_MODULE_LINES})")
            for node in ast.walk(ast.parse(source, name)):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES and f"{name}:{node.name}" not in ALLOWED_OVER:
                    found.append(f"{name}:{node.lineno} {node.name}: {length} lines (at most {MAX_FUNCTION_LINES})")
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_modules_and_functions_stay_small(package: str) -> None:
    problems = oversized(ROOT, [package])
    assert not problems, "\n".join(problems)


def test_the_size_check_finds_a_long_module_and_a_long_function(tmp_path: Path) -> None:
    (tmp_path / "api").mkdir()
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    (tmp_path / "api" / "long.py").write_text(f"def short():\n    return 1\n\n\nasync def long():\n{body}")
    (tmp_path / "api" / "big.py").write_text("x = 1\n" * (MAX_MODULE_LINES + 1))
    (tmp_path / "api" / "fine.py").write_text("x = 1\n" * MAX_MODULE_LINES)
    assert oversized(tmp_path, ["api"]) == [
        f"api/big.py: {MAX_MODULE_LINES + 1} lines (at most {MAX_MODULE_LINES})",
        f"api/long.py:5 long: {MAX_FUNCTION_LINES + 1} lines (at most {MAX_FUNCTION_LINES})",
    ]
