"""The SQLite recorder's kept writer connection: saves wait their turn, errors map, it closes."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from eventsourcing.persistence import IntegrityError

from domain.errors import Conflict
from infra.settings import Settings
from infra.sqlite_store import WriterSQLiteRecorder
from tests.support.notes import Note, NoteApp


def _app(tmp_path: Path) -> NoteApp:
    return NoteApp(env=Settings(data_dir=tmp_path, database_url="").event_store_env("notes"))


def test_a_save_waits_for_another_writer_of_the_file_then_commits(tmp_path: Path) -> None:
    """Another process holding the write lock delays the save (busy timeout), no error."""
    app = _app(tmp_path)
    try:
        assert isinstance(app.recorder, WriterSQLiteRecorder)
        other = sqlite3.connect(tmp_path / "notes.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # the file's write lock, held by someone else
        saved: list[int] = []
        saving = threading.Thread(target=lambda: saved.append(app.save_new(Note(actor="u:1"))))
        saving.start()
        time.sleep(0.5)
        assert saved == []  # waiting, not refused
        other.execute("COMMIT")
        saving.join(timeout=10)
        assert saved == [1]
        other.close()
    finally:
        app.close()


def test_a_stale_copy_conflicts_and_the_store_is_unchanged(tmp_path: Path) -> None:
    """A second app (another process) moved the stream on: the stale save is a Conflict."""
    first, second = _app(tmp_path), _app(tmp_path)
    try:
        note = Note(actor="u:1")
        first.save_new(note)
        stale: Note = second.repository.get(note.id)
        note.amend(actor="u:1")
        first.save_new(note)
        stale.amend(actor="u:2")
        with pytest.raises(Conflict):
            second.save_new(stale)
        taken = second.recorder.select_events(note.id)[-1]  # version 2, stored
        with pytest.raises(IntegrityError):  # the recorder's own error, as the library's
            second.recorder.insert_events([taken])
        assert first.recorder.max_notification_id() == 2
    finally:
        first.close()
        second.close()


def test_closing_the_application_closes_the_writer(tmp_path: Path) -> None:
    app = _app(tmp_path)
    app.save_new(Note(actor="u:1"))
    recorder = app.recorder
    assert isinstance(recorder, WriterSQLiteRecorder) and recorder._writer is not None
    app.close()
    assert recorder._writer is None
