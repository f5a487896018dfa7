"""Shop settings use cases: read every setting, change one, and see who changed what."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import domain.shop.invoicing  # registers the invoice_* settings, likewise
import domain.upi  # noqa: F401  (registers the UPI settings before any process lists them)
from application.base import FabApplication
from domain.shop.settings import SHOP_SETTINGS_ID, ShopSettings, spec_of

# Another process's change is seen within this bound; this process's own at once.
CACHE_SECONDS = 1.0


@dataclass(frozen=True)
class SettingChange:
    """One stored change of a setting: what it became, what it was, who, when."""

    key: str
    value: Any
    previous: Any
    actor: str
    at: str
    version: int


class ShopApp(FabApplication):
    """The shop context's log: settings (and, later, site content and inquiries)."""

    name = "shop"

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self._cached: tuple[float, ShopSettings] | None = None
        self._lock = threading.Lock()

    def current(self) -> ShopSettings:
        """The settings as stored (read at most once a second: they are read per request)."""
        with self._lock:
            cached = self._cached
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        settings = self.find(SHOP_SETTINGS_ID, ShopSettings) or ShopSettings.create()
        with self._lock:
            self._cached = (time.monotonic() + CACHE_SECONDS, settings)
        return settings

    def value(self, key: str) -> Any:
        """The current value of one key."""
        return self.current().value(key)

    def change(self, key: str, value: Any, *, actor: str) -> tuple[SettingChange, bool, int]:
        """Set one key (checked against its spec): the change, whether anything changed,
        and the position written (the head when nothing was).

        Read fresh, not from the cache: the version check makes a concurrent change 409.
        """
        spec_of(key)
        settings = self.find(SHOP_SETTINGS_ID, ShopSettings) or ShopSettings.create()
        previous = settings.value(key)
        changed = settings.change(key, value, actor=actor)
        position = self.save_new(settings) if changed else self.position()
        if changed:
            with self._lock:
                self._cached = None
        at, version = settings.modified_on.isoformat(), settings.version
        change = SettingChange(key, settings.value(key), previous, actor, at, version)
        return change, changed, position

    def history(self, key: str | None = None) -> list[SettingChange]:
        """Every change, oldest first (of one key when given)."""
        if key is not None:
            spec_of(key)
        changes = []
        for stored in self.events.get(SHOP_SETTINGS_ID):
            if type(stored).__name__ != "Changed":
                continue
            data: dict[str, Any] = stored.__dict__
            if key is None or data["key"] == key:
                changes.append(
                    SettingChange(
                        key=data["key"],
                        value=data["value"],
                        previous=data["previous"],
                        actor=data["actor"],
                        at=data["timestamp"].isoformat(),
                        version=stored.originator_version,
                    )
                )
        return changes
