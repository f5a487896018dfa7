"""Runs a projection over an application's notification log, a batch per transaction."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from projections.base import Cursor, EventRecord, Projection, ViewDatabase
from projections.waiting import LogHead, PositionWaiters

POSITIONS_DDL = (
    "CREATE TABLE IF NOT EXISTS projection_positions ("
    " name TEXT PRIMARY KEY, position BIGINT NOT NULL)"
)
GATHER_SECONDS = 0.02
_META = ("originator_id", "originator_version", "timestamp", "originator_topic")


def event_record(app: Application[Any], notification: Notification) -> EventRecord:
    """Decode a notification's state without rebuilding a domain object (faster)."""
    state = app.mapper.transcoder.decode(notification.state)
    return EventRecord(
        position=notification.id,
        originator_id=str(notification.originator_id),
        version=notification.originator_version,
        type=notification.topic.rsplit(".", 1)[-1],
        timestamp=state["timestamp"],
        data={k: v for k, v in state.items() if k not in _META},
    )


class ProjectionRunner:
    """Keeps one projection's view current: catch-up, live follow, rebuild, wait."""

    def __init__(
        self,
        app: Application[Any],
        projection: Projection,
        db: ViewDatabase,
        *,
        batch_size: int = 2000,
        backlog_batch_size: int = 10_000,
    ) -> None:
        self.app = app
        self.projection = projection
        self.db = db
        self.batch_size = batch_size
        # Behind by more than a batch (a rebuild, a restart): bigger batches fold more of
        # each order's events into one row write (measured 1.6x faster on PostgreSQL).
        self.backlog_batch_size = backlog_batch_size
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._catching_up = threading.Lock()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self._waiters = PositionWaiters(self.position, nudge=self.wake)
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
            notifications = self.app.recorder.select_notifications(
                start=position, limit=limit, inclusive_of_start=False
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
                # Another runner folded this batch first; its work stands, ours rolled back.
                position = self.position()
                continue
            position = records[-1].position
            done += len(records)
            self._waiters.advanced(position)
            if progress is not None:
                progress(len(records))

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Drop the view and build it again from the first event."""
        with self.db.schema_change() as cur:
            self.projection.drop(cur)
            self.projection.create(cur)
            cur.execute("DELETE FROM projection_positions WHERE name = ?", (self.name,))
        return self.catch_up(progress)

    async def wait_until(self, position: int, timeout: float) -> bool:
        """True once the view has folded `position`, False after the timeout; holds no thread."""
        return await self._waiters.wait(position, timeout)

    async def in_log(self, position: int) -> bool:
        """Whether a write produced `position`: the application's log has reached it."""
        return await self._head.includes(position)

    def wake(self) -> None:
        """Ask the follower thread to look for new events now."""
        self._wake.set()

    def start(self, poll_interval: float = 0.5) -> None:
        """Follow the log in a background thread (embedded mode)."""
        self._thread = threading.Thread(
            target=self._follow, args=(poll_interval,), name=f"projection-{self.name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop following and wait for the thread to finish its batch."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _follow(self, poll_interval: float) -> None:
        while not self._stop.is_set():
            try:
                self.catch_up()
                self.error = None
            except Exception as error:  # keep following: the database may come back
                self.error = error
            # Under load, let events gather for a moment: one transaction per batch,
            # not one per saved command (costs a read-your-writes wait at most this).
            self._stop.wait(GATHER_SECONDS)
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
