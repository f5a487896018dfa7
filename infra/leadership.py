"""One process at a time runs each flow: PostgreSQL session advisory locks.

Every API process used to run the payment, refund and slice flows, safe because their
commands are idempotent, but each process then did every step's reads and writes: with 4
API processes a placed order cost the flows 4 times over, and the HTTP benchmark placed
fewer orders with 4 processes than with 2. Now a flow runs where its advisory lock is held;
the others stand by and try again every few seconds, so when the leader's process dies (its
session ends and the lock with it) another takes over within that pause.
"""

from __future__ import annotations

import threading
import zlib
from contextlib import suppress
from typing import Any

import psycopg

from infra.pg_pool import ping_if_spoken_to

NAMESPACE = 0x0FAB  # the first key of every two-key advisory lock of ours


def lock_key(name: str) -> int:
    """The second key: a stable signed 32-bit number for the flow's name."""
    key = zlib.crc32(name.encode())
    return key - 2**32 if key >= 2**31 else key


class AdvisoryLeadership:
    """The flows this process leads, held as session locks on one connection of its own."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn: psycopg.Connection[Any] | None = None
        self._held: set[str] = set()
        self._lock = threading.Lock()  # one connection, several follower threads

    def holds(self, name: str) -> bool:
        """Whether this process leads `name` now (taking the lead when it is free)."""
        with self._lock:
            try:
                conn = self._connection()
                if name in self._held:
                    return True
                row = conn.execute(
                    "SELECT pg_try_advisory_lock(%s, %s)", (NAMESPACE, lock_key(name))
                ).fetchone()
            except psycopg.Error:
                self._drop()  # the database is away: lead nothing until it is back
                return False
            if row is not None and row[0]:
                self._held.add(name)
                return True
            return False

    def led(self) -> frozenset[str]:
        """The names this process leads (as far as it knows)."""
        with self._lock:
            return frozenset(self._held)

    def close(self) -> None:
        """Give up every lead (other processes take over at their next try)."""
        with self._lock:
            if self._conn is not None and self._held:
                # Released now: a closed socket frees them only once the server notices.
                with suppress(psycopg.Error):
                    self._conn.execute("SELECT pg_advisory_unlock_all()")
            self._drop()

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is not None:
            try:
                ping_if_spoken_to(self._conn)  # a restart ended the session: locks are gone
            except psycopg.Error:
                self._drop()
        if self._conn is None:
            self._conn = psycopg.connect(self._dsn, autocommit=True, connect_timeout=5)
        return self._conn

    def _drop(self) -> None:
        self._held.clear()
        if self._conn is not None:
            self._conn.close()
            self._conn = None
