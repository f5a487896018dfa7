"""UploadGate: how many requests may hold an uploaded model in the API process's memory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from domain.errors import Unavailable


class UploadGate:
    """At most `slots` requests read and analyse an upload at once; `max_waiting` more wait.

    The multipart parser has already spooled a waiting request's file to disk, so a caller
    in the queue holds no upload in memory; past the queue it is refused at once (503), and
    one that waited wait_seconds in vain too. One gate per event loop (per API process).
    """

    def __init__(
        self,
        slots: int,
        max_waiting: int,
        wait_seconds: float,
        busy: str = "every model analysis worker is busy; try again shortly",
    ) -> None:
        if slots < 1 or max_waiting < 0 or wait_seconds <= 0:
            raise ValueError("slots >= 1, max_waiting >= 0 and wait_seconds > 0")
        self.slots = slots
        self.max_waiting = max_waiting
        self.wait_seconds = wait_seconds
        self.busy = busy  # the 503's text (the gate also guards preview images)
        self.inside = 0  # requests holding an upload now
        self.waiting = 0  # requests queued for a slot now
        self.rejected = 0  # requests refused for want of a slot, since start
        self._semaphore: asyncio.Semaphore | None = None

    @asynccontextmanager
    async def admitted(self, needed: bool = True) -> AsyncIterator[None]:
        """Hold a slot for the block (when needed), waiting in the bounded queue for it."""
        if not needed:
            yield
            return
        await self._enter()
        self.inside += 1
        try:
            yield
        finally:
            self.inside -= 1
            self._gate().release()

    async def _enter(self) -> None:
        gate = self._gate()
        if gate.locked() and self.waiting >= self.max_waiting:
            self.rejected += 1
            raise Unavailable(self.busy)
        self.waiting += 1
        try:
            # Semaphore.acquire gives a slot granted at the moment of the timeout back.
            async with asyncio.timeout(self.wait_seconds):
                await gate.acquire()
        except TimeoutError:
            self.rejected += 1
            raise Unavailable(self.busy) from None
        finally:
            self.waiting -= 1

    def _gate(self) -> asyncio.Semaphore:
        # Made on first use, inside the serving loop (the composition root runs before it).
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.slots)
        return self._semaphore
