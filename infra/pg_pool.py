"""What every PostgreSQL connection pool of ours checks before handing a connection out."""

from __future__ import annotations

import select
from typing import Any

from psycopg import Connection
from psycopg_pool import ConnectionPool


def ping_if_spoken_to(conn: Connection[Any]) -> None:
    """The pool's check: ping only a connection the server wrote to while it sat idle.

    A pre-ping costs a round trip per connection taken. An idle connection is sent nothing
    unless the server is ending it (shutdown, restart, terminate: an error message, then
    EOF) or reporting a setting, so a connection whose socket has nothing to read is handed
    out as is, and one that has is pinged as psycopg_pool's own check does.
    """
    readable, _, _ = select.select([conn.fileno()], [], [], 0)  # fileno raises when closed
    if readable:
        ConnectionPool.check_connection(conn)
