"""Rate-limit counters: in this process (embedded SQLite mode) or shared in PostgreSQL.

Fixed windows aligned to the epoch (a window of w seconds starts at a multiple of w): one
counter per (bucket, window start), so a count is one increment and a reset is a new row.
A client can thus make up to twice its limit across a window boundary; in exchange every
API process agrees on the windows with no coordination but the clock, and a count is one
atomic increment.

PostgreSQL: each process counts the requests that reach the limiter while its previous
upsert is in flight in one upsert (`hits = hits + n ... RETURNING hits`); the n requests
of a bucket get the n counts ending at the returned total, each its own, so the count
stays exact across processes while a busy process pays one round trip per batch.
The table is UNLOGGED (no WAL; after a crash it comes back empty, which resets every
window: counters are ephemeral by design), and expired rows are swept once a minute.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, Protocol

import psycopg
import structlog

from infra.settings import Settings

Clock = Callable[[], float]
Buckets = Sequence[tuple[str, int]]  # (bucket, window seconds)
SWEEP_SECONDS = 60.0
MAX_BATCH = 256
RETRY_SECONDS = 1.0  # after a failed connect, batches fail at once for this long
# Any constant works; it only has to be the same in every fabledger process.
TABLE_LOCK_KEY = 0x0FAB1EA7E
log = structlog.get_logger("fabledger.rate_limits")


class Hit(NamedTuple):
    """One counted request: the bucket's requests in this window (it included) and the
    seconds until the window ends."""

    hits: int
    reset_seconds: float


class RateCounters(Protocol):
    """Counts requests per bucket and fixed window (the port of the rate-limit middleware)."""

    blocking: bool  # hit() waits on I/O: on the event loop, await hit_async() instead

    def hit(self, buckets: Buckets) -> list[Hit]:
        """Count one request in each (bucket, window seconds); a Hit per bucket, in order."""
        ...

    async def hit_async(self, buckets: Buckets) -> list[Hit]:
        """hit() without blocking the event loop."""
        ...

    def close(self) -> None:
        """Release connections and threads."""
        ...


def _window(now: float, seconds: int) -> tuple[int, int]:
    """(start, end) of the fixed window holding `now`, in whole epoch seconds."""
    start = int(now // seconds) * seconds
    return start, start + seconds


class MemoryRateCounters:
    """Counters in a dict of this process (thread-safe): one API process counts alone."""

    blocking = False

    def __init__(self, clock: Clock = time.time) -> None:
        self.clock = clock  # tests drive windows by replacing it
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, int], list[int]] = {}  # -> [count, window end]
        self._sweep_at = 0.0

    def hit(self, buckets: Buckets) -> list[Hit]:
        """Count one request in each bucket's current window."""
        now = self.clock()
        hits = []
        with self._lock:
            if now >= self._sweep_at:
                self._sweep(now)
            for bucket, seconds in buckets:
                start, end = _window(now, seconds)
                slot = self._counts.get((bucket, start))
                if slot is None:
                    slot = self._counts[(bucket, start)] = [0, end]
                slot[0] += 1
                hits.append(Hit(slot[0], end - now))
        return hits

    async def hit_async(self, buckets: Buckets) -> list[Hit]:
        """hit(): it never blocks."""
        return self.hit(buckets)

    def _sweep(self, now: float) -> None:
        # Without it every client IP ever seen would stay in memory.
        self._counts = {key: slot for key, slot in self._counts.items() if slot[1] > now}
        self._sweep_at = now + SWEEP_SECONDS

    def close(self) -> None:
        """Nothing to release."""


CREATE_TABLE = """
CREATE UNLOGGED TABLE IF NOT EXISTS rate_limit_hits (
    bucket text NOT NULL,
    window_start bigint NOT NULL,
    window_end bigint NOT NULL,
    hits integer NOT NULL,
    PRIMARY KEY (bucket, window_start)
)
"""
# One statement text for any batch (prepared once per connection). Rows go in key order:
# two processes locking the same keys in different orders could deadlock.
UPSERT = """
INSERT INTO rate_limit_hits AS h (bucket, window_start, window_end, hits)
SELECT * FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::integer[]) AS u(b, s, e, n)
ORDER BY b, s
ON CONFLICT (bucket, window_start) DO UPDATE SET hits = h.hits + EXCLUDED.hits
RETURNING h.bucket, h.window_start, h.hits
"""
SWEEP = "DELETE FROM rate_limit_hits WHERE window_end <= %s"
# Batches in flight per event loop, each on its own connection: with one, every request of
# a burst waited for the same round trip while the loop sat idle. Counts stay exact: each
# upsert is atomic and locks its rows in key order.
LANES = 2


class _Waiting(NamedTuple):
    """A request's buckets, when it came, and the future its Hits go to."""

    buckets: Buckets
    now: float
    future: asyncio.Future[list[Hit]]


def _plan(batch: Sequence[tuple[Buckets, float]]) -> tuple[Any, ...]:
    """The upsert's columns for a batch of requests, and where each request's counts are."""
    adds: dict[tuple[str, int], list[int]] = {}  # (bucket, start) -> [end, n]
    places = []  # per request: ((bucket, start), its k-th add in the batch, end, arrival)
    for buckets, now in batch:
        mine = []
        for bucket, seconds in buckets:
            start, end = _window(now, seconds)
            add = adds.setdefault((bucket, start), [end, 0])
            add[1] += 1
            mine.append(((bucket, start), add[1], end, now))
        places.append(mine)
    keys = list(adds)
    columns = (
        [bucket for bucket, _ in keys],
        [start for _, start in keys],
        [adds[key][0] for key in keys],
        [adds[key][1] for key in keys],
    )
    return columns, adds, places


def _answers(rows: list[Any], adds: dict[Any, list[int]], places: list[Any]) -> list[list[Hit]]:
    """Each request's Hits: a key's n adds of the batch are the counts total-n+1 .. total."""
    totals = {(bucket, start): hits for bucket, start, hits in rows}
    return [
        [Hit(totals[key] - adds[key][1] + k, end - now) for key, k, end, now in mine]
        for mine in places
    ]


class PostgresRateCounters:
    """Counters in one PostgreSQL table, shared by every API process on the database.

    On the event loop (hit_async) requests are counted in batches by LANES writer tasks
    per loop, each on its own connection: while an upsert is in flight the loop serves
    other requests, and those that reach the limiter meanwhile go in the next upsert. No thread:
    a writer thread had to wait for the loop to give up the GIL, so every request of a
    burst waited for one round trip together while the loop sat idle. hit() (tests, sync
    callers) upserts at once on a connection of its own.
    """

    blocking = True

    def __init__(self, dsn: str, clock: Clock = time.time, timeout_seconds: float = 2.0) -> None:
        self.clock = clock
        self.dsn = dsn
        self.timeout = timeout_seconds  # connect and upsert: a stuck database fails a batch
        self._writers: dict[asyncio.AbstractEventLoop, list[_LoopWriter]] = {}
        self._sync: psycopg.Connection[Any] | None = None
        self._sync_lock = threading.Lock()
        self.sweep_at = 0.0

    def connect_kwargs(self) -> dict[str, Any]:
        """Autocommit, bounded waits, and no commit flush: the counts are ephemeral."""
        return {
            "autocommit": True,
            "connect_timeout": max(1, round(self.timeout)),
            "options": f"-c statement_timeout={int(self.timeout * 1000)} -c synchronous_commit=off",
        }

    def due_sweep(self, now: float) -> bool:
        """Whether expired rows should be deleted now (once a minute per process)."""
        if now < self.sweep_at:
            return False
        self.sweep_at = now + SWEEP_SECONDS
        return True

    def hit(self, buckets: Buckets) -> list[Hit]:
        """Count one request in each bucket's window, atomically across processes."""
        now = self.clock()
        columns, adds, places = _plan([(buckets, now)])
        with self._sync_lock:
            try:
                if self._sync is None or self._sync.closed:
                    self._sync = psycopg.connect(self.dsn, **self.connect_kwargs())
                    _create_table(self._sync)
                rows = self._sync.execute(UPSERT, columns).fetchall()
                if self.due_sweep(now):
                    self._sync.execute(SWEEP, (int(now),))
            except Exception:
                if self._sync is not None:
                    self._sync.close()
                    self._sync = None
                raise
        return _answers(rows, adds, places)[0]

    async def hit_async(self, buckets: Buckets) -> list[Hit]:
        """hit() in this loop's next batch."""
        loop = asyncio.get_running_loop()
        lanes = self._writers.get(loop)
        if lanes is None:
            for old in [old for old in self._writers if old.is_closed()]:
                del self._writers[old]
            lanes = self._writers[loop] = [_LoopWriter(self) for _ in range(LANES)]
        # An idle lane first, else the shortest queue: the loop never waits on one round trip.
        writer = min(lanes, key=lambda lane: (lane.writing is not None, len(lane.waiting)))
        return await writer.submit(buckets, self.clock())

    def close(self) -> None:
        """Close the connections (at shutdown: no batch is in flight)."""
        for lanes in self._writers.values():
            for writer in lanes:
                writer.close()
        self._writers.clear()
        with self._sync_lock:
            if self._sync is not None:
                self._sync.close()
                self._sync = None


def _create_table(conn: psycopg.Connection[Any]) -> None:
    with conn.transaction():
        # Concurrent CREATE TABLE IF NOT EXISTS can collide on the catalog.
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (TABLE_LOCK_KEY,))
        conn.execute(CREATE_TABLE)


class _LoopWriter:
    """One event loop's batches: one upsert in flight; whoever arrives meanwhile waits for
    the next one."""

    def __init__(self, counters: PostgresRateCounters) -> None:
        self.counters = counters
        self.waiting: list[_Waiting] = []
        self.writing: asyncio.Task[None] | None = None  # held: the loop keeps weak references
        self.conn: psycopg.AsyncConnection[Any] | None = None
        self.cursor: psycopg.AsyncCursor[Any] | None = None
        self.retry_at = 0.0

    async def submit(self, buckets: Buckets, now: float) -> list[Hit]:
        future: asyncio.Future[list[Hit]] = asyncio.get_running_loop().create_future()
        self.waiting.append(_Waiting(buckets, now, future))
        if self.writing is None:
            self.writing = asyncio.get_running_loop().create_task(self._write())
        return await future

    async def _write(self) -> None:
        try:
            while self.waiting:
                batch, self.waiting = self.waiting[:MAX_BATCH], self.waiting[MAX_BATCH:]
                try:
                    answers: list[Any] = await self._count(batch)
                except Exception as error:
                    log.warning("rate_limit_counting_failed", error_type=type(error).__name__)
                    self.close()
                    answers = [error] * len(batch)
                for waiting, answer in zip(batch, answers, strict=True):
                    if waiting.future.done():  # the request was cancelled (client gone)
                        continue
                    if isinstance(answer, BaseException):
                        waiting.future.set_exception(answer)
                    else:
                        waiting.future.set_result(answer)
        finally:
            self.writing = None

    async def _count(self, batch: list[_Waiting]) -> list[list[Hit]]:
        columns, adds, places = _plan([(w.buckets, w.now) for w in batch])
        async with asyncio.timeout(self.counters.timeout):  # a partitioned network too
            cursor = await self._cursor()
            rows = await (await cursor.execute(UPSERT, columns)).fetchall()
            now = batch[-1].now
            if self.counters.due_sweep(now):
                await cursor.execute(SWEEP, (int(now),))
        return _answers(rows, adds, places)

    async def _cursor(self) -> psycopg.AsyncCursor[Any]:
        # One cursor for the connection's life: a new one per batch cost as much as the query.
        if self.conn is not None and not self.conn.closed and self.cursor is not None:
            return self.cursor
        if time.monotonic() < self.retry_at:
            raise psycopg.OperationalError("rate-limit database unreachable; retrying shortly")
        try:
            conn = await psycopg.AsyncConnection.connect(
                self.counters.dsn, **self.counters.connect_kwargs()
            )
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (TABLE_LOCK_KEY,))
                await conn.execute(CREATE_TABLE)
        except Exception:
            self.retry_at = time.monotonic() + RETRY_SECONDS
            raise
        self.conn, self.cursor = conn, conn.cursor()
        return self.cursor

    def close(self) -> None:
        """Drop the connection at once (sync: also called from the container's close)."""
        if self.conn is not None:
            self.conn.pgconn.finish()
            self.conn, self.cursor = None, None


def rate_counters(settings: Settings) -> RateCounters:
    """Shared counters on PostgreSQL; this process's own in the embedded SQLite mode."""
    if settings.uses_postgres:
        return PostgresRateCounters(settings.database_url)
    return MemoryRateCounters()
