"""Model files and upload sessions on disk, under the data directory."""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

from application.ports import StoredModel, UploadSession
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


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
