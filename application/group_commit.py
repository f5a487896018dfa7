"""Group commit: commands saved at the same time share one transaction (one lock, one fsync).

Why: the event store serialises writers (PostgreSQL: an EXCLUSIVE table lock that keeps
notification ids in commit order; SQLite: one writer) and holds that through the commit's
flush. One transaction per command therefore costs one flush per command, however many
clients wait. Here the commands that arrive while a write is in flight are written
together by the next one, with ONE `recorder.insert_events` call.

How (leader/follower, no background thread):

* each caller encodes its own events, queues them and waits; when no write is in flight
  the caller becomes the leader: it takes up to `max_batch` queued commands (oldest
  first), writes them in one transaction, hands every command its own notification ids,
  and wakes the others. A lone caller finds nothing in flight and writes at once.
* the leader waits up to `wait` seconds for more commands only when the previous batch
  held more than one (clients are concurrent), and only until the queue holds as many as
  that batch did: under load a batch fills in the time the previous callers take to build
  their next command; a lone client never waits.
* per-command optimistic concurrency: a batch never holds two commands writing the same
  (stream, version) (the later one goes to the next batch, so the earlier one wins, as
  it would one at a time). If the database still refuses the batch with an
  IntegrityError (a stale aggregate: another process or an earlier batch wrote that
  version), the transaction rolled back as a whole, so the batch is split in halves and
  each half retried, down to the single command that conflicts: only it fails, its
  neighbours commit. Other errors (the database away) fail every command of the batch,
  as each would have failed alone.
* every caller returns only after the transaction holding its events committed (durable
  as the store's settings make it: fsync/synchronous_commit on PostgreSQL, the WAL's
  synchronous mode on SQLite); ids stay ordered as the queue was (FIFO).

`max_batch <= 1` turns grouping off (FabApplication then saves as the library does).
"""

from __future__ import annotations

import copy
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.persistence import DataError, IntegrityError, StoredEvent

DEFAULT_WAIT_MS = 2.0
DEFAULT_MAX_BATCH = 64

Insert = Callable[[Sequence[StoredEvent]], Sequence[int] | None]


@dataclass(eq=False)
class _Command:
    """One caller's events, and what became of them."""

    stored: Sequence[StoredEvent]
    keys: frozenset[tuple[Any, int]]
    ids: Sequence[int] | None = None
    error: BaseException | None = None
    written: bool = False  # set by the leader, outside the lock
    done: bool = False  # set under the lock: the caller may return


@dataclass
class GroupCommitStats:
    """Counters a benchmark or a metric reads: how big the batches were."""

    batches: int = 0  # transactions that committed a batch
    commands: int = 0  # commands committed
    splits: int = 0  # batches refused with a conflict and retried in halves
    conflicts: int = 0  # commands that failed with a conflict
    sizes: Counter[int] = field(default_factory=Counter)  # commands per committed batch

    def mean_size(self) -> float:
        """Commands per committed batch on average."""
        return self.commands / self.batches if self.batches else 0.0


class GroupCommitter:
    """Writes concurrent commands' stored events in shared transactions (module docstring)."""

    def __init__(self, insert: Insert, *, wait: float, max_batch: int) -> None:
        self._insert = insert
        self.wait = max(0.0, wait)
        self.max_batch = max(1, max_batch)
        self.stats = GroupCommitStats()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._finished = threading.Condition(self._lock)
        self._queue: deque[_Command] = deque()
        self._leading = False
        self._last_batch = 0

    def commit(self, stored: Sequence[StoredEvent]) -> Sequence[int] | None:
        """Write one command's events atomically; their notification ids once committed."""
        # Raises what the write raised for this command (IntegrityError: its conflict).
        keys = frozenset((s.originator_id, s.originator_version) for s in stored)
        command = _Command(stored, keys)
        with self._lock:
            self._queue.append(command)
            self._arrived.notify()
            while not command.done:
                if self._leading:
                    self._finished.wait()
                else:
                    self._lead()
        if command.error is not None:
            raise command.error
        return command.ids

    def reset_stats(self) -> None:
        """Start counting afresh (benchmarks measure one run at a time)."""
        with self._lock:
            self.stats = GroupCommitStats()

    def _lead(self) -> None:
        """Gather a batch, write it without holding the lock, wake its callers."""
        self._leading = True
        batch: list[_Command] = []
        try:
            batch = self._gather()
            self._lock.release()
            try:
                self._write(batch)
            finally:
                self._lock.acquire()
        finally:
            for command in batch:
                if not command.written:  # the leader itself was interrupted
                    command.error = RuntimeError("group commit interrupted; nothing written")
                command.done = True
            self._leading = False
            self._finished.notify_all()

    def _gather(self) -> list[_Command]:
        """Up to max_batch queued commands, oldest first, no two on one (stream, version)."""
        if self.wait > 0 and self._last_batch > 1:
            target = min(self.max_batch, self._last_batch)
            deadline = time.monotonic() + self.wait
            while len(self._queue) < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._arrived.wait(remaining)
        batch: list[_Command] = []
        taken: set[tuple[Any, int]] = set()
        while self._queue and len(batch) < self.max_batch:
            command = self._queue[0]
            if not taken.isdisjoint(command.keys):
                break  # it would conflict with an earlier one: the next batch decides
            taken |= command.keys
            batch.append(self._queue.popleft())
        self._last_batch = len(batch)
        return batch

    def _write(self, batch: list[_Command]) -> None:
        """One transaction for the batch; on a conflict, halves until only it fails."""
        try:
            ids = self._insert([event for command in batch for event in command.stored])
        except (IntegrityError, DataError) as error:
            if len(batch) == 1:
                self.stats.conflicts += 1
                _fail(batch, error)
                return
            self.stats.splits += 1
            half = len(batch) // 2
            self._write(batch[:half])
            self._write(batch[half:])
            return
        except Exception as error:  # the database away: every command fails as it would alone
            _fail(batch, error)
            return
        self.stats.batches += 1
        self.stats.commands += len(batch)
        self.stats.sizes[len(batch)] += 1
        start = 0
        for command in batch:
            end = start + len(command.stored)
            command.ids = None if ids is None else ids[start:end]
            command.written = True
            start = end


def _fail(batch: list[_Command], error: Exception) -> None:
    """Give each command its own exception object (threads raise them concurrently)."""
    for index, command in enumerate(batch):
        command.error = error if index == 0 else copied_error(error)
        command.written = True


def copied_error(error: Exception) -> BaseException:
    """A twin of the exception for another thread to raise (tracebacks are per object)."""
    try:
        twin = copy.copy(error)
    except Exception:  # an exception type that cannot be rebuilt from its args
        return error
    twin.__cause__ = error.__cause__
    return twin
