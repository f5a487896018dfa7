"""Runs a projection over an application's notification log, a batch per transaction."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, Protocol, runtime_checkable

from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from projections.base import Cursor, EventRecord, Projection, ViewDatabase
from projections.waiting import LogHead, PositionWaiters

POSITIONS_DDL = (
    "CREATE TABLE IF NOT EXISTS projection_positions ("
    " name TEXT PRIMARY KEY, position BIGINT NOT NULL)"
)
# How long a follower lets new events gather after a batch (unless a reader is waiting):
# one transaction per batch, not one per saved command. 0.05 s at ~300 metered calls/s:
# batches of ~15, ~35 us per usage event to fold instead of ~64 at 0.02 s (~6 per batch).
GATHER_SECONDS = 0.05
STANDBY_SECONDS = 2.0  # how often a runner that does not lead asks for the lead again
_META = ("originator_id", "originator_version", "originator_topic")
_TYPES: dict[str, str] = {}  # topic -> event type: a few dozen topics, split once each


def event_record(app: Application[Any], notification: Notification) -> EventRecord:
    """Decode a notification's state without rebuilding a domain object (faster)."""
    # The decoded dict is ours alone: popping the stream attributes out of it is cheaper
    # than copying the event's own attributes into a new one.
    data = app.mapper.transcoder.decode(notification.state)
    timestamp = data.pop("timestamp")
    for key in _META:
        data.pop(key, None)
    topic = notification.topic
    kind = _TYPES.get(topic)
    if kind is None:
        kind = _TYPES[topic] = topic.rsplit(".", 1)[-1]
    # Positional: a frozen dataclass's keyword call cost a third more (once per event).
    return EventRecord(
        notification.id,  # position
        str(notification.originator_id),
        notification.originator_version,  # version
        kind,  # type
        timestamp,
        data,
    )


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for one batch (it is back on afterwards)."""
    # A batch allocates a dozen containers per event, all alive until it is folded: the
    # GC rescanned them many times per batch and found no garbage (a third of a rebuild's
    # decode and fold time went to collections).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Lead(Protocol):
    """Decides which process runs a runner (infra.leadership); None: this one always."""

    def holds(self, name: str) -> bool:
        """Whether this process leads `name` now (taking the lead when it is free)."""
        ...


@runtime_checkable
class DeferredIndexes(Protocol):
    """A projection whose rebuild loads its table first and indexes it afterwards."""

    def create_table(self, cur: Cursor) -> None:
        """Create the view's tables without their secondary indexes."""
        ...

    def create_indexes(self, cur: Cursor) -> None:
        """Create the secondary indexes (idempotent)."""
        ...


class ProjectionRunner:
    """Keeps one projection's view current: catch-up, live follow, rebuild, wait."""

    def __init__(
        self,
        app: Application[Any],
        projection: Projection,
        db: ViewDatabase,
        *,
        batch_size: int = 2000,
        backlog_batch_size: int = 30_000,
    ) -> None:
        self.app = app
        self.projection = projection
        self.db = db
        self.batch_size = batch_size
        # Behind by more than a batch (a rebuild, a restart): bigger batches fold more of
        # each order's events into one row write (10k: 1.6x faster than 2k on PostgreSQL;
        # 30k: another 1.15x; 30k order events decoded hold ~55 MB).
        self.backlog_batch_size = backlog_batch_size
        self._wake = threading.Event()
        self._hurry = threading.Event()  # a reader waits for a position: no gathering
        self._stop = threading.Event()
        self._catching_up = threading.Lock()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self._waiters = PositionWaiters(self.position, nudge=self.hurry)
        self._head = LogHead(app.recorder.max_notification_id)
        with db.schema_change() as cur:
            cur.execute(POSITIONS_DDL)
            projection.create(cur)

    @property
    def name(self) -> str:
        """The projection's name (also its key in the positions table)."""
        return self.projection.name

    def position(self) -> int:
        """The last notification position folded into the view."""
        with self.db.reading() as cur:
            return _read_position(cur, self.name)

    def catch_up(self, progress: Callable[[int], None] | None = None) -> int:
        """Fold every new event into the view; returns how many were processed."""
        with self._catching_up:
            return self._catch_up(progress)

    def _catch_up(self, progress: Callable[[int], None] | None) -> int:
        done = 0
        position = self.position()
        limit = self.batch_size
        while True:
            with gc_paused() if self.projection.pauses_gc else nullcontext():
                asked = limit
                notifications = self.app.recorder.select_notifications(
                    start=position, limit=asked, inclusive_of_start=False
                )
                if len(notifications) == self.batch_size:
                    limit = self.backlog_batch_size
                if not notifications:
                    return done
                records = [event_record(self.app, n) for n in notifications]
                try:
                    with self.db.transaction() as cur:
                        self.projection.apply(cur, records)
                        _advance_position(cur, self.name, position, records[-1].position)
                except PositionMoved:
                    # Another runner folded this batch first; its work stands, ours rolled
                    # back.
                    position = self.position()
                    continue
            position = records[-1].position
            done += len(records)
            self._waiters.advanced(position)
            if progress is not None:
                progress(len(records))
            if len(notifications) < asked:
                # The end of the log as of that read: asking again costs a round trip per
                # batch; a later save wakes the follower (or its poll finds it).
                return done

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Drop the view and build it again from the first event."""
        # Index maintenance was most of the cost of folding a backlog (every row updated
        # several times): a whole-table CREATE INDEX at the end is cheaper.
        deferred = self.projection if isinstance(self.projection, DeferredIndexes) else None
        with self.db.schema_change() as cur:
            self.projection.drop(cur)
            if deferred is None:
                self.projection.create(cur)
            else:
                deferred.create_table(cur)
            cur.execute("DELETE FROM projection_positions WHERE name = ?", (self.name,))
        try:
            return self.catch_up(progress)
        finally:
            if deferred is not None:
                # Also after a failure: readers keep their indexes (create() adds them at a
                # runner's start too).
                with self.db.schema_change() as cur:
                    deferred.create_indexes(cur)

    async def wait_until(self, position: int, timeout: float) -> bool:
        """True once the view has folded `position`, False after the timeout; holds no thread."""
        return await self._waiters.wait(position, timeout)

    async def in_log(self, position: int) -> bool:
        """Whether a write produced `position`: the application's log has reached it."""
        return await self._head.includes(position)

    def wake(self) -> None:
        """Ask the follower thread to look for new events (after its gathering pause)."""
        self._wake.set()

    def hurry(self) -> None:
        """Ask the follower thread to fold new events now: a reader is waiting for them."""
        self._hurry.set()
        self._wake.set()

    def start(self, poll_interval: float = 0.5, lead: Lead | None = None) -> None:
        """Follow the log in a background thread (embedded mode); with `lead`, only while
        this process leads the runner's name."""
        self._thread = threading.Thread(
            target=self._follow,
            args=(poll_interval, lead),
            name=f"projection-{self.name}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop following and wait for the thread to finish its batch."""
        self._stop.set()
        self.hurry()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _follow(self, poll_interval: float, lead: Lead | None) -> None:
        while not self._stop.is_set():
            if lead is not None and not lead.holds(self.name):
                self._stop.wait(STANDBY_SECONDS)
                continue
            # Cleared before the batch: a reader that asks from now on waits for a position
            # already in the log, which this batch or the next (not gathered) folds.
            self._hurry.clear()
            try:
                self.catch_up()
                self.error = None
            except Exception as error:  # keep following: the database may come back
                self.error = error
            self._hurry.wait(GATHER_SECONDS)
            self._wake.wait(poll_interval)
            self._wake.clear()


def _read_position(cur: Cursor, name: str) -> int:
    cur.execute("SELECT position FROM projection_positions WHERE name = ?", (name,))
    row = cur.fetchone()
    return int(row[0]) if row else 0


class PositionMoved(Exception):
    """The view's position changed under us: another runner applied the batch."""


def _advance_position(cur: Cursor, name: str, old: int, new: int) -> None:
    """Compare-and-set the position, so a batch is applied once even with two runners."""
    if old == 0:
        cur.execute(
            "INSERT INTO projection_positions (name, position) VALUES (?, ?)"
            " ON CONFLICT (name) DO NOTHING",
            (name, new),
        )
    else:
        cur.execute(
            "UPDATE projection_positions SET position = ? WHERE name = ? AND position = ?",
            (new, name, old),
        )
    if cur.rowcount != 1:
        raise PositionMoved(name)
