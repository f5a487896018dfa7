"""What every PostgreSQL connection pool of ours checks before handing a connection out."""

from __future__ import annotations

import functools
import select
from typing import Any

from psycopg import Connection
from psycopg_pool import ConnectionPool


def ping_if_spoken_to(conn: Connection[Any], pool: ConnectionPool[Any] | None = None) -> None:
    """The pool's check: ping only a connection the server wrote to while it sat idle.

    A pre-ping costs a round trip per connection taken. An idle connection is sent nothing
    unless the server is ending it (shutdown, restart, terminate: an error message, then
    EOF) or reporting a setting, so a connection whose socket has nothing to read is handed
    out as is, and one that has is pinged as psycopg_pool's own check does.

    A dead one means its idle siblings most likely died with it (a restart ends them all):
    the whole pool is checked at once. psycopg_pool takes the next connection at once after
    a first failed check, then after 1 s, 2 s, 4 s: taken one by one, three dead idle
    connections kept the first request after a restart waiting past our 2 s timeout.
    """
    readable, _, _ = select.select([conn.fileno()], [], [], 0)  # fileno raises when closed
    if not readable:
        return
    try:
        ConnectionPool.check_connection(conn)
    except Exception:
        if pool is not None:
            pool.check()  # pings each idle connection, replaces the dead (not with this check)
        raise


def check_spoken_to(pool: ConnectionPool[Any]) -> None:
    """Make ping_if_spoken_to a built pool's check (psycopg_pool takes `check` only when
    built, and our check needs the pool)."""
    pool._check = functools.partial(ping_if_spoken_to, pool=pool)
