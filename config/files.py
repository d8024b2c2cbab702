"""Directories that hold finsent's data: private to the user that runs finsent."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_MODE = 0o700


def private_dir(path: Path) -> Path:
    """``path`` as a directory that only its owner can list or enter.

    Missing directories (``path`` and any missing parent) are created 0700. An existing
    ``path`` that this user owns loses its group and other permissions, with one log line:
    chdb creates the store's files with the process's umask (usually readable by all), so
    the directory is their only guard, and earlier versions created it 0755. A directory
    owned by someone else, and parents that already exist, are left as they are (they are
    the operator's to set).
    """
    missing = [directory for directory in (path, *path.parents) if not directory.exists()]
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            directory.mkdir(mode=PRIVATE_MODE)
    _tighten(path)
    return path


def _tighten(path: Path) -> None:
    info = path.stat()
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid != os.geteuid() or not mode & 0o077:
        return
    try:
        path.chmod(mode & PRIVATE_MODE)
    except OSError as exc:
        log.warning("could not make %s private (mode %o): %s", path, mode, exc.strerror)
        return
    log.warning("made %s private to its owner (mode %o, was %o)", path, mode & PRIVATE_MODE, mode)
