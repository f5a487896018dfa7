"""Model files and upload sessions on disk, under the data directory."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from uuid import UUID

from application.ports import StoredModel, UploadSession
from domain.errors import NotFound
from domain.models import MeshSummary

_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class FileModelStore:
    """Content-addressed model files; one small JSON file per upload session."""

    def __init__(self, root: Path) -> None:
        self.models = root / "models"
        self.sessions = root / "upload_sessions"
        self.models.mkdir(parents=True, exist_ok=True)
        self.sessions.mkdir(parents=True, exist_ok=True)

    def put_model(self, data: bytes, filename: str) -> StoredModel:
        """Write the bytes once under their SHA-256 (atomic rename: no torn files)."""
        digest = hashlib.sha256(data).hexdigest()
        path = self.models / digest[:2] / digest
        if not path.exists():
            path.parent.mkdir(exist_ok=True)
            _write_atomically(path, data)
        return StoredModel(sha256=digest, filename=Path(filename).name, size_bytes=len(data))

    def model_bytes(self, sha256: str) -> bytes:
        """The stored file's bytes; NotFound for a digest never stored (or not a digest)."""
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise NotFound("model file not found")
        path = self.models / sha256[:2] / sha256
        if not path.is_file():
            raise NotFound("model file not found")
        return path.read_bytes()

    def put_session(self, session: UploadSession) -> None:
        """Remember the session as JSON."""
        record = {
            "session_id": session.session_id,
            "owner_id": session.owner_id,
            "model": session.model.__dict__,
            "summary": session.summary.to_dict(),
        }
        _write_atomically(self._session_path(session.session_id), json.dumps(record).encode())

    def get_session(self, session_id: str) -> UploadSession | None:
        """The session, or None for an unknown or malformed id."""
        if not _SESSION_ID.match(session_id):
            return None
        path = self._session_path(session_id)
        if not path.exists():
            return None
        record = json.loads(path.read_text())
        return UploadSession(
            session_id=record["session_id"],
            owner_id=record["owner_id"],
            model=StoredModel(**record["model"]),
            summary=MeshSummary.from_dict(record["summary"]),
        )

    def _session_path(self, session_id: str) -> Path:
        return self.sessions / f"{session_id}.json"


class FileCatalogFiles:
    """Catalog models' files under catalog_models/, one per model id (not by content).

    Keyed by model: deleting a model deletes its file and nothing else, however many models
    or orders hold the same bytes. An order of a catalog model gets its own copy in the
    content-addressed order files (copy_for_order), so deleting the model never takes a
    placed order's file with it.
    """

    def __init__(self, root: Path, orders: FileModelStore) -> None:
        self.root = root / "catalog_models"
        self.root.mkdir(parents=True, exist_ok=True)
        self.orders = orders

    def put(self, model_id: UUID, data: bytes) -> None:
        """Write the bytes atomically (no torn file is ever served)."""
        _write_atomically(self._path(model_id), data)

    def put_upload(self, model_id: UUID, upload: StoredModel) -> None:
        """Copy an uploaded (order) file in; NotFound when the upload's file is gone."""
        source = self.orders.models / upload.sha256[:2] / upload.sha256
        if not source.is_file():
            raise NotFound("the uploaded file is gone; upload the model again")
        _copy_atomically(source, self._path(model_id))

    def path(self, model_id: UUID) -> Path | None:
        """The file's path, or None when there is none."""
        path = self._path(model_id)
        return path if path.is_file() else None

    def delete(self, model_id: UUID) -> None:
        """Remove the file (already gone is fine)."""
        self._path(model_id).unlink(missing_ok=True)

    def copy_for_order(self, model_id: UUID, file: StoredModel) -> StoredModel:
        """The model's file among the order files under its recorded hash (copied once)."""
        target = self.orders.models / file.sha256[:2] / file.sha256
        if not target.exists():
            source = self.path(model_id)
            if source is None:
                raise NotFound("catalog model not found")
            target.parent.mkdir(exist_ok=True)
            _copy_atomically(source, target)
        return file

    def _path(self, model_id: UUID) -> Path:
        return self.root / str(UUID(str(model_id)))  # a UUID's text: never a path trick


def _copy_atomically(source: Path, target: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent)
    with os.fdopen(fd, "wb") as out, source.open("rb") as src:
        shutil.copyfileobj(src, out, 1024 * 1024)
    os.replace(tmp, target)


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
