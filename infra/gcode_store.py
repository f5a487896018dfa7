"""Sliced G-code on disk, content-addressed like the model files (infra/model_store.py)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from domain.errors import NotFound

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1024 * 1024


class GcodeStore:
    """One file per distinct G-code under gcode/<first two hex>/<sha256>."""

    def __init__(self, root: Path) -> None:
        self.root = root / "gcode"
        self.root.mkdir(parents=True, exist_ok=True)

    def put(self, path: Path) -> str:
        """Move the file in under its SHA-256 (atomic; a file already there is kept)."""
        digest = _sha256_of(path)
        target = self._path(digest)
        if target.exists():
            path.unlink()
            return digest
        target.parent.mkdir(exist_ok=True)
        try:
            os.replace(path, target)  # same file system: a rename, never a torn file
        except OSError:
            _copy_atomically(path, target)  # another file system: copy, then rename
            path.unlink()
        return digest

    def path_of(self, sha256: str) -> Path:
        """The stored file's path, or NotFound (also for anything not a SHA-256)."""
        if not _SHA256.match(sha256):
            raise NotFound("G-code not found")
        path = self._path(sha256)
        if not path.is_file():
            raise NotFound("G-code not found")
        return path

    def open(self, sha256: str) -> BinaryIO:
        """The stored file opened for reading (a download streams from it)."""
        return self.path_of(sha256).open("rb")

    def _path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_atomically(source: Path, target: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            shutil.copyfileobj(src, out, _CHUNK)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
