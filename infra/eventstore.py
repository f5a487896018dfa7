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
PostgreSQL refuses one with "tuple concurrently updated" or "already exists" and that
process dies. An advisory lock makes them take turns, for the events' and the snapshots'
tables alike (`FabPostgresFactory` makes both recorders).

Each save is ONE statement, one round trip: a PL/pgSQL function (created with the tables)
takes the table lock that keeps notification ids in commit order and inserts the events,
in the statement's own autocommit transaction. The library sends BEGIN, SET LOCAL, LOCK,
NOTIFY, INSERT and COMMIT in a pipeline with two syncs: measured on a durable server,
0.54-0.69 ms per single-event save against 0.21 ms here. There is no NOTIFY: no fabledger
process LISTENs (projections poll or are woken in-process), and a NOTIFY takes
PostgreSQL's cluster-wide notify lock through the commit's flush, serialising the commits
of all eleven event stores (~55 us per save measured alone). `subscribe` is refused.

The pool's pre-ping is `infra.pg_pool.ping_if_spoken_to` (no round trip for a quiet
connection; one found dead has the whole pool checked).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import (
    PostgresAggregateRecorder,
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
)
from eventsourcing.utils import retry
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from infra.pg_pool import check_spoken_to

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


class _SchemaLocked:
    """Creates the recorder's tables while holding the cluster-wide schema lock."""

    datastore: PostgresDatastore

    def create_table(self) -> None:
        """The library's create_table, one process at a time."""
        with schema_lock(self.datastore):
            super().create_table()  # type: ignore[misc]


class FastFailingPostgresRecorder(_SchemaLocked, PostgresApplicationRecorder):
    """The application recorder with bounded retries (see the module docstring)."""

    select_events = _tried("select_events", 2)
    select_notifications = _tried("select_notifications", 2)
    max_notification_id = _tried("max_notification_id", 2)

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        if datastore.pre_ping:  # the library built the pool with its own check: replace it
            check_spoken_to(datastore.pool)
        function = f"fab_insert_{self.events_table_name}"
        self.check_identifier_length(function)
        schema, table = Identifier(datastore.schema), Identifier(self.events_table_name)
        name = SQL("{0}.{1}").format(schema, Identifier(function))
        # Two overloads of one name: the arrays of a group commit's batch, and the single
        # event of most saves (psycopg's per-call array dumping cost ~35 us of Python).
        for parameters, rows in (
            (
                "ids {id_type}[], versions bigint[], topics text[], states bytea[]",
                "SELECT * FROM unnest(ids, versions, topics, states)",
            ),
            (
                "id {id_type}, version bigint, topic text, state bytea",
                "VALUES (id, version, topic, state)",
            ),
        ):
            self.sql_create_statements.append(
                SQL(
                    "CREATE OR REPLACE FUNCTION {name}(" + parameters + ") "
                    "RETURNS SETOF bigint LANGUAGE plpgsql AS $$ BEGIN "
                    "SET LOCAL lock_timeout = '{timeout}s'; "
                    "LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
                    "RETURN QUERY INSERT INTO {schema}.{table} "
                    "(originator_id, originator_version, topic, state) "
                    + rows
                    + " RETURNING notification_id; END $$"
                ).format(
                    name=name,
                    id_type=Identifier(datastore.originator_id_type),
                    timeout=SQL(str(int(datastore.lock_timeout))),
                    schema=schema,
                    table=table,
                )
            )
        # Rendered once, parameters sent binary (%b): composing the statement and quoting a
        # bytea array as text took more Python per save than the server took to insert.
        self._insert_statement = (
            SQL("SELECT notification_id FROM {0}(%b, %b, %b, %b) AS inserted(notification_id)")
            .format(name)
            .as_string()
        )

    def insert_events(self, stored_events: Sequence[StoredEvent], **_: Any) -> Sequence[int] | None:
        """One statement: lock and insert; the notification ids, in order.

        Tried once (module docstring); a conflict raises the library's IntegrityError.
        """
        if not stored_events:
            return []
        params: tuple[Any, ...]
        if len(stored_events) == 1:
            (e,) = stored_events
            params = (e.originator_id, e.originator_version, e.topic, e.state)
        else:
            params = (
                [e.originator_id for e in stored_events],
                [e.originator_version for e in stored_events],
                [e.topic for e in stored_events],
                [e.state for e in stored_events],
            )
        # Tuples, not the pool's dict rows: making dict rows cost ~20 us per save.
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(self._insert_statement, params, prepare=True)
            return [row[0] for row in curs.fetchall()]

    def subscribe(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Refused: saves send no NOTIFY (module docstring), a subscriber would never wake."""
        raise NotImplementedError("fabledger's event stores send no NOTIFY; poll instead")


class SchemaLockedAggregateRecorder(_SchemaLocked, PostgresAggregateRecorder):
    """The snapshot stores' recorder, creating its tables one process at a time too."""


class FabPostgresFactory(PostgresFactory):
    """eventsourcing's PostgreSQL factory, making the recorders above."""

    aggregate_recorder_class = SchemaLockedAggregateRecorder
    application_recorder_class = FastFailingPostgresRecorder


@contextmanager
def schema_lock(datastore: PostgresDatastore) -> Iterator[None]:
    """Hold the cluster-wide schema lock (session level) while the block creates tables."""
    # Four API processes starting on a fresh database raced on the snapshot tables' CREATE
    # TYPE ("already exists") and uvicorn stopped them all.
    with datastore.get_connection() as conn:  # autocommit: a session-level lock
        conn.execute("SELECT pg_advisory_lock(%s)", (EVENT_SCHEMA_LOCK_KEY,))
        try:
            yield  # the library creates the tables on other pooled connections
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (EVENT_SCHEMA_LOCK_KEY,))
