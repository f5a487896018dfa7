"""The PostgreSQL recorder: one statement per save, checked connections, no NOTIFY."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.persistence import InfrastructureFactory, IntegrityError, StoredEvent
from eventsourcing.utils import Environment
from psycopg_pool import ConnectionPool

from infra.eventstore import EVENT_SCHEMA_LOCK_KEY, FastFailingPostgresRecorder
from infra.settings import Settings
from infra.views_db import PostgresViewDatabase
from tests.support.notes import Note, NoteApp
from tests.support.postgres import PostgresDatabase


@contextmanager
def _note_app(postgres_db: PostgresDatabase, tmp_path: Path, **env: str) -> Iterator[NoteApp]:
    """The app as production configures it on PostgreSQL (pre-ping on, group commit on)."""
    settings = Settings(data_dir=tmp_path, database_url=postgres_db.dsn)
    built = NoteApp(env={**settings.event_store_env("notes"), **env})
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def app(postgres_db: PostgresDatabase, tmp_path: Path) -> Iterator[NoteApp]:
    """The app as production configures it (see _note_app)."""
    with _note_app(postgres_db, tmp_path) as built:
        yield built


def _recorder(app: NoteApp) -> FastFailingPostgresRecorder:
    recorder = app.recorder
    assert isinstance(recorder, FastFailingPostgresRecorder)
    return recorder


def _stored(version: int = 1, originator: UUID | str | None = None) -> StoredEvent:
    return StoredEvent(
        originator_id=originator or uuid4(),
        originator_version=version,
        topic="tests:Note.Written",
        state=b'{"actor":"user:1","bytes":"\\u0000\\\\x00{}"}',
    )


def test_one_event_and_a_batch_get_ordered_ids_and_read_back_byte_for_byte(app: NoteApp) -> None:
    """The single-event and the batch overloads insert what they were given, in order."""
    recorder = _recorder(app)
    alone = _stored()
    batch = [_stored() for _ in range(3)]
    first = recorder.insert_events([alone])
    rest = recorder.insert_events(batch)
    assert first is not None and rest is not None
    assert len(first) == 1 and list(rest) == [first[0] + 1, first[0] + 2, first[0] + 3]
    for stored in [alone, *batch]:
        (read,) = recorder.select_events(stored.originator_id)
        assert (read.topic, read.state, read.originator_version) == (
            stored.topic,
            stored.state,
            1,
        )


def test_a_version_taken_twice_is_refused_whole(app: NoteApp) -> None:
    """A conflicting event fails its statement: nothing of the batch is written."""
    recorder = _recorder(app)
    taken = _stored()
    recorder.insert_events([taken])
    fresh = _stored()
    with pytest.raises(IntegrityError):
        recorder.insert_events([fresh, _stored(1, taken.originator_id)])
    with pytest.raises(IntegrityError):
        recorder.insert_events([_stored(1, taken.originator_id)])
    assert recorder.select_events(fresh.originator_id) == []
    assert recorder.max_notification_id() == 1


def test_a_connection_the_server_ended_is_replaced_before_a_write(
    postgres_db: PostgresDatabase, tmp_path: Path
) -> None:
    """The pool's check skips the ping on a quiet connection but sees one the server has
    terminated (restart, pg_terminate_backend): the save goes through on a new one.

    A 5 s wait for a connection (production: 2 s) keeps a loaded machine's slow reconnect
    from failing the save that the check made possible.
    """
    with _note_app(postgres_db, tmp_path, POSTGRES_CONNECT_TIMEOUT="5") as app:
        app.save_new(Note(actor="user:1"))  # the pool holds an open, used connection
        assert _end_every_connection(postgres_db) >= 1
        for _ in range(3):
            app.save_new(Note(actor="user:1"))
        assert _recorder(app).max_notification_id() == 4


def _end_every_connection(postgres_db: PostgresDatabase) -> int:
    """Terminate every other session on the test database, as a restart would; how many."""
    with psycopg.connect(postgres_db.dsn, autocommit=True) as admin:
        ended = admin.execute(
            "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"  # waits till gone
        ).fetchone()
    assert ended is not None
    return int(ended[0])


def _leave_idle(pool: ConnectionPool[Any], count: int) -> None:
    """Have the pool hold `count` open connections, idle."""
    with ExitStack() as held:
        for _ in range(count):
            held.enter_context(pool.connection())
    assert pool.get_stats()["pool_available"] >= count


def test_idle_connections_that_died_together_are_replaced_at_once(
    postgres_db: PostgresDatabase, tmp_path: Path
) -> None:
    """A restart ends every idle connection at once: the first found dead has the whole
    pool checked, so the save and the read after it wait only for a new connection (12-14
    ms here), not 0 + 1 + 2 + 4 s, the pool's pauses between four dead connections taken
    one by one (past a 5 s wait here; production's 2 s from the third). The event store
    and the views share the check."""
    with _note_app(postgres_db, tmp_path, POSTGRES_CONNECT_TIMEOUT="5") as app:
        views = PostgresViewDatabase(postgres_db.dsn, max_size=5)
        try:
            views.pool.timeout = 5.0  # as the event store's here (production: 2 s both)
            _leave_idle(_recorder(app).datastore.pool, 4)
            _leave_idle(views.pool, 4)
            assert _end_every_connection(postgres_db) >= 8
            app.save_new(Note(actor="user:1"))
            with views.reading() as cursor:
                cursor.execute("SELECT 1")
                assert cursor.fetchone() == (1,)
            assert _recorder(app).max_notification_id() == 1
        finally:
            views.close()


def test_saves_send_no_notify_and_subscribing_is_refused(
    app: NoteApp, postgres_db: PostgresDatabase
) -> None:
    """Nothing LISTENs; a listener would hear nothing, so subscribe says so at once."""
    channel = _recorder(app).channel_name
    with psycopg.connect(postgres_db.dsn, autocommit=True) as listener:
        listener.execute(psycopg.sql.SQL("LISTEN {0}").format(psycopg.sql.Identifier(channel)))
        app.save_new(Note(actor="user:1"))
        assert list(listener.notifies(timeout=0.3)) == []
    with pytest.raises(NotImplementedError, match="no NOTIFY"):
        _recorder(app).subscribe(gt=0)


def test_the_snapshot_tables_are_created_under_the_schema_lock(
    postgres_db: PostgresDatabase, tmp_path: Path
) -> None:
    """API processes starting together on a new database take turns creating tables (four
    raced on the snapshots' CREATE TYPE and uvicorn stopped them all): while another
    session holds the schema lock, creating a snapshot store waits; it finishes once the
    lock is let go."""
    env = Settings(data_dir=tmp_path, database_url=postgres_db.dsn).event_store_env("developer")
    factory = InfrastructureFactory.construct(Environment("developer", env))
    created: list[object] = []
    try:
        with psycopg.connect(postgres_db.dsn, autocommit=True) as other:
            other.execute("SELECT pg_advisory_lock(%s)", (EVENT_SCHEMA_LOCK_KEY,))
            starting = threading.Thread(
                target=lambda: created.append(factory.aggregate_recorder(purpose="snapshots"))
            )
            starting.start()
            starting.join(timeout=1.0)
            assert starting.is_alive() and created == []  # waiting for its turn
            other.execute("SELECT pg_advisory_unlock(%s)", (EVENT_SCHEMA_LOCK_KEY,))
            starting.join(timeout=30)
        assert len(created) == 1
        with psycopg.connect(postgres_db.dsn) as conn:
            tables = {row[0] for row in conn.execute("SELECT tablename FROM pg_tables")}
        assert "developer_snapshots" in tables
    finally:
        factory.close()
