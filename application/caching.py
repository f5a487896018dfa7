"""A small time-bounded cache for the authentication hot path."""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable

MAX_ITEMS = 100_000
# How long a `forget` keeps refusing values loaded before it (a load outlasting this is
# a stuck thread, not a race worth remembering).
TOMBSTONE_SECONDS = 60.0


class TtlCache:
    """Entries expire after `seconds`; `forget` drops one at once.

    A value loaded from the store before the key was forgotten (a revocation racing a
    verification in another thread) is refused by `put`: it would bring the old state
    back for a whole TTL.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._items: dict[Hashable, tuple[float, object]] = {}
        self._forgotten: dict[Hashable, float] = {}
        self._lock = threading.Lock()

    @staticmethod
    def now() -> float:
        """The clock `put`'s `loaded_at` is read from."""
        return time.monotonic()

    def get(self, key: Hashable) -> object | None:
        """The live value, or None."""
        with self._lock:
            hit = self._items.get(key)
            if hit is None or hit[0] < time.monotonic():
                return None
            return hit[1]

    def put(self, key: Hashable, value: object, loaded_at: float) -> None:
        """Keep a value read from the store at `loaded_at` (unless forgotten since)."""
        with self._lock:
            if self._forgotten.get(key, float("-inf")) >= loaded_at:
                return
            if len(self._items) > MAX_ITEMS:
                self._items.clear()  # bounded memory beats a perfect hit rate
            self._items[key] = (time.monotonic() + self.seconds, value)

    def forget(self, key: Hashable) -> None:
        """Drop the key now, and refuse values loaded before this moment."""
        with self._lock:
            self._items.pop(key, None)
            now = time.monotonic()
            if len(self._forgotten) > MAX_ITEMS:
                cutoff = now - TOMBSTONE_SECONDS
                self._forgotten = {k: t for k, t in self._forgotten.items() if t > cutoff}
            self._forgotten[key] = now
