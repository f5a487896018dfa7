"""The PAT access log writer on SQLite and PostgreSQL: batched in the background, read newest
first, forgotten with its token, and never in a request's way (a full queue or a database
that is away drops entries and counts them)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from application.ports import AccessLogEntry
from infra.access_log import BatchedAccessLog
from infra.views_db import PostgresViewDatabase, SQLiteViewDatabase
from projections.base import ViewDatabase


@pytest.fixture(params=["sqlite", "postgres"])
def views(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ViewDatabase]:
    if request.param == "sqlite":
        db: Any = SQLiteViewDatabase(tmp_path / "views.db")
    else:
        db = PostgresViewDatabase(request.getfixturevalue("postgres_db").dsn)
    try:
        yield db
    finally:
        db.close()


def entry(token: str, n: int, status: int = 200) -> AccessLogEntry:
    return AccessLogEntry(
        token_id=token,
        token_name=f"name-{token}",
        method="GET",
        path=f"/api/admin/orders/{n}",
        status=status,
        client_ip="192.0.2.7",
        at=f"2026-01-01T00:00:{n:02d}.000000+00:00",
    )


def stored(views: ViewDatabase) -> int:
    with views.reading() as cur:
        cur.execute("SELECT COUNT(*) FROM pat_access_log")
        return int(cur.fetchone()[0])


def test_entries_are_written_in_the_background_and_read_newest_first(views: ViewDatabase) -> None:
    log = BatchedAccessLog(views, flush_seconds=0.05)
    try:
        for n in range(5):
            log.record(entry("a", n))
        log.record(entry("b", 9, status=403))
        deadline = time.monotonic() + 5
        while stored(views) < 6:  # nobody flushed: the background thread did
            assert time.monotonic() < deadline
            time.sleep(0.02)
        everyone = log.recent(None, 500)
        assert [e.path for e in everyone][:2] == ["/api/admin/orders/9", "/api/admin/orders/4"]
        assert everyone[0] == entry("b", 9, status=403)
        assert [e.path for e in log.recent("a", 2)] == [
            "/api/admin/orders/4",
            "/api/admin/orders/3",
        ]
        assert log.last_used() == {"a": entry("a", 4).at, "b": entry("b", 9).at}
    finally:
        log.close()


def test_forgetting_a_token_deletes_its_rows_and_its_queued_entries(views: ViewDatabase) -> None:
    log = BatchedAccessLog(views, flush_seconds=60)  # only explicit flushes in this story
    try:
        log.record(entry("gone", 1))
        log.flush()
        log.record(entry("gone", 2))  # still queued
        log.record(entry("kept", 3))
        log.forget(["gone"])
        log.record(entry("gone", 4))  # a request that verified before the delete
        assert [e.token_id for e in log.recent(None, 500)] == ["kept"]
    finally:
        log.close()


def test_close_flushes_what_is_queued(views: ViewDatabase) -> None:
    log = BatchedAccessLog(views, flush_seconds=60)
    for n in range(3):
        log.record(entry("a", n))
    log.close()
    assert stored(views) == 3


def test_a_full_queue_drops_and_counts(views: ViewDatabase) -> None:
    log = BatchedAccessLog(views, flush_seconds=60, max_queued=2)
    try:
        for n in range(5):
            log.record(entry("a", n))
        assert log.dropped == 3
        assert len(log.recent("a", 10)) == 2
    finally:
        log.close()


class _Away:
    """A view database whose writes fail, as while the server restarts."""

    dialect = "sqlite"

    def __init__(self, real: ViewDatabase) -> None:
        self.real = real

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        raise sqlite3.OperationalError("database is away")
        yield  # pragma: no cover

    def schema_change(self) -> Any:
        return self.real.schema_change()

    def reading(self) -> Any:
        return self.real.reading()


def test_a_database_outage_loses_entries_but_never_raises(tmp_path: Path) -> None:
    real = SQLiteViewDatabase(tmp_path / "views.db")
    log = BatchedAccessLog(_Away(real), flush_seconds=60)
    try:
        log.record(entry("a", 1))
        log.record(entry("a", 2))
        assert log.flush() == 0
        assert log.dropped == 2
        log.record(entry("a", 3))  # and the next request is not in its way either
    finally:
        log.close()
        real.close()
