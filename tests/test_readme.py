"""The README's configuration table documents every setting."""

from __future__ import annotations

import re
from pathlib import Path

from config import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def documented_variables() -> set[str]:
    return set(re.findall(r"`(FINSENT_[A-Z0-9_]+)`", README))


def test_every_setting_is_in_the_configuration_table() -> None:
    expected = {f"FINSENT_{name.upper()}" for name in Settings.model_fields}
    missing = expected - documented_variables()
    assert not missing, f"document these in README.md: {sorted(missing)}"


def test_readme_gives_the_two_setup_commands() -> None:
    assert "make demo" in README and "make test" in README
