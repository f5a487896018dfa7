"""eventsourcing's PostgreSQL recorder: fails fast while the database is away, and creates
its tables one process at a time.

The library retries every recorder call 10 times on a connection error, and each try
waits up to the pool timeout for a connection: with the server down, one request hung
for ~50 s instead of answering 503. Here reads try twice (the second try covers a
connection that died since its pre-ping) and writes once (a retried write after an
ambiguous failure could only turn into a version conflict; the client retries with its
Idempotency-Key instead).

Several processes starting together (uvicorn --workers N, a compose deployment) each run
the library's `CREATE OR REPLACE FUNCTION` / `CREATE TYPE` at start; concurrently,
PostgreSQL refuses one with "tuple concurrently updated" and that process dies. An
advisory lock makes them take turns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry

_OUTAGES = (InterfaceError, OperationalError)
# Any constant works; it only has to be the same in every fabledger process.
EVENT_SCHEMA_LOCK_KEY = 0x0FAB1ED6F


def _undecorated(name: str) -> Callable[..., Any]:
    """The library's method without its 10-attempt retry decorator."""
    method: Callable[..., Any] = getattr(PostgresApplicationRecorder, name).__wrapped__
    return method


def _tried(name: str, attempts: int) -> Callable[..., Any]:
    decorated: Callable[..., Any] = retry(_OUTAGES, max_attempts=attempts, wait=0.2)(
        _undecorated(name)
    )
    return decorated


class FastFailingPostgresRecorder(PostgresApplicationRecorder):
    """The application recorder with bounded retries (see the module docstring)."""

    insert_events = _tried("insert_events", 1)
    select_events = _tried("select_events", 2)
    select_notifications = _tried("select_notifications", 2)
    max_notification_id = _tried("max_notification_id", 2)

    def create_table(self) -> None:
        """The library's create_table, while holding a cluster-wide advisory lock."""
        with self.datastore.get_connection() as conn:  # autocommit: a session-level lock
            conn.execute("SELECT pg_advisory_lock(%s)", (EVENT_SCHEMA_LOCK_KEY,))
            try:
                super().create_table()  # on other pooled connections
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (EVENT_SCHEMA_LOCK_KEY,))
