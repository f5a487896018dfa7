"""View databases for projections: SQLite files or the PostgreSQL event-store database."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from psycopg_pool import ConnectionPool

from infra.pg_pool import check_spoken_to


class SQLiteViewDatabase:
    """Views in one SQLite file (WAL: readers never block the projection writer)."""

    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Cursor]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on error."""
        cur = self._connection().cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")

    def schema_change(self) -> AbstractContextManager[sqlite3.Cursor]:
        """BEGIN IMMEDIATE already keeps other writers out."""
        return self.transaction()

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Cursor]:
        """A cursor in autocommit mode: each query sees the latest committed state."""
        yield self._connection().cursor()

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


# Any constant works; it only has to be the same in every fabledger process.
SCHEMA_LOCK_KEY = 0x0FAB1ED6E


class _QmarkCursor:
    """Lets projections write '?' placeholders against psycopg's '%s'."""

    dialect = "postgres"  # projections may use set-based PostgreSQL statements

    def __init__(self, cur: Any) -> None:
        self._cur = cur

    @property
    def rowcount(self) -> int:
        return int(self._cur.rowcount)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._cur.execute(sql.replace("?", "%s"), params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Any:
        return self._cur.executemany(sql.replace("?", "%s"), list(rows))

    def fetchone(self) -> Any:
        return self._cur.fetchone()

    def fetchall(self) -> list[Any]:
        return list(self._cur.fetchall())


class PostgresViewDatabase:
    """Views as tables in the PostgreSQL database that holds the events."""

    dialect = "postgres"

    def __init__(self, dsn: str, *, max_size: int = 10) -> None:
        # check: a connection that died with a database restart is replaced, not handed out;
        # timeout: while the database is away a read fails in seconds (503), not 30 s;
        # autocommit: a read is one round trip (no implicit BEGIN, no ROLLBACK on return).
        self.pool = ConnectionPool(
            dsn,
            min_size=1,
            max_size=max_size,
            open=True,
            kwargs={"connect_timeout": 5, "autocommit": True},
            timeout=2.0,
        )
        check_spoken_to(self.pool)

    @contextmanager
    def transaction(self) -> Iterator[_QmarkCursor]:
        """One transaction; commits when the block exits cleanly."""
        with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield _QmarkCursor(cur)

    @contextmanager
    def schema_change(self) -> Iterator[_QmarkCursor]:
        """A transaction holding an advisory lock: concurrent CREATE TABLEs can collide."""
        with self.transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK_KEY,))
            yield cur

    @contextmanager
    def reading(self) -> Iterator[_QmarkCursor]:
        """A cursor on a pooled connection, in autocommit mode (each query sees the latest
        committed state, as on SQLite)."""
        with self.pool.connection() as conn, conn.cursor() as cur:
            yield _QmarkCursor(cur)

    def close(self) -> None:
        """Close the pool."""
        self.pool.close()
