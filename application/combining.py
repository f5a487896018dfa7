"""Combining: concurrent commands on one hot aggregate served together, in one save.

Why: commands on the same stream cannot share a group commit (each needs the version the
previous one wrote), so one at a time they pay one durable commit each, and callers of a
busy stream (an organisation's usage meter) queue behind every flush. Here the callers
that arrive for a key while a batch is being saved are decided by the next leader in ONE
load, each in arrival order against the state its predecessors left (a hard cap stays
exact), and saved in one write; every caller gets its own answer or its own error.

Leader/follower as in application.group_commit: no thread of its own, a lone caller is
served at once.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from application.group_commit import copied_error

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")
R = TypeVar("R")

# serve(key, items) -> one result or exception per item, in order.
Serve = Callable[[K, Sequence[T]], Sequence[R | BaseException]]


@dataclass(eq=False)
class _Call(Generic[T, R]):
    item: T
    result: R | None = None
    error: BaseException | None = None
    done: bool = False


@dataclass
class _Line(Generic[T, R]):
    waiting: list[_Call[T, R]] = field(default_factory=list)
    leading: bool = False


class Combiner(Generic[K, T, R]):
    """Serves the items submitted for one key while another batch of it is in flight together."""

    def __init__(self, serve: Serve[K, T, R]) -> None:
        self._serve = serve
        self._lock = threading.Lock()
        self._served = threading.Condition(self._lock)
        self._lines: dict[K, _Line[T, R]] = {}
        self.sizes: Counter[int] = Counter()  # items per batch served (benchmarks read it)

    def submit(self, key: K, item: T) -> R:
        """Serve one item (alone or with the others waiting for its key); its result."""
        call: _Call[T, R] = _Call(item)
        with self._lock:
            line = self._lines.setdefault(key, _Line())
            line.waiting.append(call)
            while not call.done:
                if line.leading:
                    self._served.wait()
                else:
                    self._lead(key, line)
            # An idle line goes; the key may already name a newer line (keep that one).
            if not line.waiting and not line.leading and self._lines.get(key) is line:
                del self._lines[key]
        if call.error is not None:
            raise call.error
        return call.result  # type: ignore[return-value]

    def _lead(self, key: K, line: _Line[T, R]) -> None:
        """Serve everything waiting for the key, outside the lock; wake the callers."""
        batch, line.waiting, line.leading = line.waiting, [], True
        self.sizes[len(batch)] += 1
        interrupted: BaseException | None = None
        self._lock.release()
        try:
            outcomes: Sequence[R | BaseException] = self._serve(key, [c.item for c in batch])
        except Exception as error:  # the whole batch failed as each would have alone
            outcomes = [error, *(copied_error(error) for _ in batch[1:])]
        except BaseException as error:  # this thread is stopping: fail the batch, then stop
            interrupted = error
            outcomes = [
                RuntimeError("interrupted before its answer; it may or may not be saved")
                for _ in batch
            ]
        finally:
            self._lock.acquire()
        for call, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                call.error = outcome
            else:
                call.result = outcome
            call.done = True
        line.leading = False
        self._served.notify_all()
        if interrupted is not None:
            raise interrupted
