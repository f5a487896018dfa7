"""Read-your-writes without holding a thread: asyncio waits woken when a view advances."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(eq=False)
class _Waiter:
    position: int
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[None] = field(repr=False)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class PositionWaiters:
    """Futures that resolve once a view's position reaches theirs.

    Whoever folds in this process reports it (`advanced`, from any thread); while anyone
    waits, one poller per event loop reads the stored position for all of them at once,
    because another process may be the one folding.
    """

    def __init__(
        self,
        read_position: Callable[[], int],
        *,
        poll: float = 0.05,
        nudge: Callable[[], None] | None = None,
    ) -> None:
        self._read = read_position
        self._poll = poll
        self._nudge = nudge
        self._lock = threading.Lock()
        self._waiting: set[_Waiter] = set()
        self._pollers: dict[asyncio.AbstractEventLoop, asyncio.Task[None]] = {}

    def advanced(self, position: int) -> None:
        """The view now includes `position`: wake every waiter at or below it."""
        with self._lock:
            ready = {w for w in self._waiting if w.position <= position}
            self._waiting -= ready
        try:
            here: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        for waiter in ready:
            if waiter.loop is here:
                _resolve(waiter.future)
            elif not waiter.loop.is_closed():
                waiter.loop.call_soon_threadsafe(_resolve, waiter.future)

    async def wait(self, position: int, timeout: float) -> bool:
        """True once the view includes `position`, False after `timeout` seconds."""
        loop = asyncio.get_running_loop()
        waiter = _Waiter(position, loop, loop.create_future())
        with self._lock:  # registered before the first read: no advance slips between
            self._waiting.add(waiter)
        try:
            self.advanced(await asyncio.to_thread(self._read))
            if not waiter.future.done():
                if self._nudge is not None:
                    self._nudge()
                self._ensure_poller(loop)
            await asyncio.wait_for(waiter.future, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            with self._lock:
                self._waiting.discard(waiter)

    def _ensure_poller(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            task = self._pollers.get(loop)
            if task is None or task.done():
                self._pollers[loop] = loop.create_task(self._poll_while_waiting(loop))

    async def _poll_while_waiting(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            while self._waits_on(loop):
                await asyncio.sleep(self._poll)
                try:
                    position = await asyncio.to_thread(self._read)
                except Exception:  # the database may be away: the waits time out (503)
                    position = 0
                self.advanced(position)
        finally:
            with self._lock:
                if self._pollers.get(loop) is asyncio.current_task():
                    del self._pollers[loop]

    def _waits_on(self, loop: asyncio.AbstractEventLoop) -> bool:
        with self._lock:
            return any(w.loop is loop for w in self._waiting)


class LogHead:
    """The head of an application's notification log, read again only past the last seen."""

    def __init__(self, read_head: Callable[[], int | None]) -> None:
        self._read = read_head
        self._known = 0

    async def includes(self, position: int) -> bool:
        """Whether a write has produced `position` (the log reaches it)."""
        if position <= self._known:
            return True
        head = await asyncio.to_thread(self._read) or 0
        self._known = max(self._known, head)
        return position <= self._known
