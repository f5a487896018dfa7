"""Shop settings use cases: read every setting, change one, and see who changed what."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import domain.contact_limits  # registers the contact_daily_limit_* settings, likewise
import domain.shop.invoicing  # registers the invoice_* settings, likewise
import domain.shop.mail_delivery  # registers mail_delivery, likewise
import domain.shop.network  # the CORS allowlist and CSP sources, likewise
import domain.shop.site_content  # the store profile and site settings, likewise
import domain.upi  # noqa: F401  (registers the UPI settings before any process lists them)
from application.base import FabApplication
from application.ports import SecretBox
from domain.errors import Unavailable
from domain.shop.settings import (
    SHOP_SETTINGS_ID,
    SettingSpec,
    ShopSettings,
    check_secret,
    shown,
    spec_of,
)

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

    def __init__(
        self, env: dict[str, str] | None = None, *, secret_box: SecretBox | None = None
    ) -> None:
        super().__init__(env)
        self._cached: tuple[float, ShopSettings] | None = None
        self._lock = threading.Lock()
        self.secret_box = secret_box  # seals settings' secret fields (an SMTP password)

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
        Secret fields are sealed here, before the check; the answer shows them masked.
        """
        spec = spec_of(key)
        settings = self.find(SHOP_SETTINGS_ID, ShopSettings) or ShopSettings.create()
        previous = settings.value(key)
        if spec.secret_fields:
            value = self._sealed(key, spec, value, previous)
        changed = settings.change(key, value, actor=actor)
        position = self.save_new(settings) if changed else self.position()
        if changed:
            with self._lock:
                self._cached = None
        at, version = settings.modified_on.isoformat(), settings.version
        now, before = shown(key, settings.value(key)), shown(key, previous)
        change = SettingChange(key, now, before, actor, at, version)
        return change, changed, position

    def _sealed(self, key: str, spec: SettingSpec, value: Any, previous: Any) -> Any:
        """The value with each secret field sealed; one left out, null or blank keeps the
        stored one (an admin form never shows it back). `<field>_set`, as listings show it,
        is dropped."""
        if not isinstance(value, dict):
            return value  # not an object: the key's own check refuses it or clears it
        shown_marks = {f"{name}_set" for name in spec.secret_fields}
        sealed = {k: v for k, v in value.items() if k not in shown_marks}
        for name in spec.secret_fields:
            plain = sealed.pop(name, None)
            if plain is None or plain == "":
                if isinstance(previous, dict) and previous.get(name):
                    sealed[name] = previous[name]
                continue
            plain = check_secret(key, name, plain)
            if self.secret_box is None:
                raise Unavailable(f"{key}: no secrets key is configured to seal {name}")
            sealed[name] = self.secret_box.seal(plain)
        return sealed

    def change_many(
        self, values: Mapping[str, Any], *, actor: str
    ) -> tuple[list[SettingChange], int]:
        """Set several keys in one save, each change its own event: one unknown key or bad
        value refuses them all. The changes made (unchanged keys left out) and the position
        written (the head when nothing was)."""
        specs = {key: spec_of(key) for key in values}
        settings = self.find(SHOP_SETTINGS_ID, ShopSettings) or ShopSettings.create()
        changes = []
        for key, value in values.items():
            previous = settings.value(key)
            if specs[key].secret_fields:
                value = self._sealed(key, specs[key], value, previous)
            if settings.change(key, value, actor=actor):
                now, before = shown(key, settings.value(key)), shown(key, previous)
                at, version = settings.modified_on.isoformat(), settings.version
                changes.append(SettingChange(key, now, before, actor, at, version))
        if not changes:
            return changes, self.position()
        position = self.save_new(settings)  # all or none: a concurrent change makes it 409
        with self._lock:
            self._cached = None
        return changes, position

    def history(self, key: str | None = None) -> list[SettingChange]:
        """Every change, oldest first (of one key when given), secret fields masked."""
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
                        value=shown(data["key"], data["value"]),
                        previous=shown(data["key"], data["previous"]),
                        actor=data["actor"],
                        at=data["timestamp"].isoformat(),
                        version=stored.originator_version,
                    )
                )
        return changes
