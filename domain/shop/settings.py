"""The ShopSettings aggregate: every shop setting by key, each change an event with its actor.

Each key has a spec (its default and the check that turns a submitted JSON value into the
stored one, or refuses it naming the key). Only keys with a spec can be set, so a typo is a
404, not a silently stored setting nobody reads.

A spec may name secret fields of an object value (an SMTP password): the application seals
them before the check sees the value, and whatever lists values (every setting, a change,
the history) shows only `<field>_set` in their place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput, NotFound

SHOP_SETTINGS_ID: UUID = uuid5(NAMESPACE_URL, "fabledger:shop-settings")

# Who must use TOTP 2FA: nobody (opt-in), everyone, or staff (moderators and admins).
TWO_FACTOR_OPTIONAL = "optional"
TWO_FACTOR_REQUIRED = "required"
TWO_FACTOR_REQUIRED_STAFF = "required_staff"
TWO_FACTOR_POLICIES = (TWO_FACTOR_OPTIONAL, TWO_FACTOR_REQUIRED, TWO_FACTOR_REQUIRED_STAFF)


@dataclass(frozen=True)
class SettingSpec:
    """A key's default, what it means, and the check a new value passes before it is stored."""

    default: Any
    description: str
    check: Callable[[str, Any], Any]  # (key, submitted value) -> stored value, or InvalidInput
    secret_fields: tuple[str, ...] = ()  # fields of an object value stored sealed, never shown

    def shown(self, value: Any) -> Any:
        """The value as it may be shown: each secret field replaced by whether it is set."""
        if not self.secret_fields or not isinstance(value, dict):
            return value
        visible = {k: v for k, v in value.items() if k not in self.secret_fields}
        for name in self.secret_fields:
            visible[f"{name}_set"] = bool(value.get(name))
        return visible


def boolean(key: str, value: Any) -> bool:
    """A JSON true or false (no 0/1, no strings)."""
    if not isinstance(value, bool):
        raise InvalidInput(f"{key}: must be true or false")
    return value


def one_of(*choices: str) -> Callable[[str, Any], str]:
    """A check accepting exactly one of these strings."""

    def check(key: str, value: Any) -> str:
        if not isinstance(value, str) or value not in choices:
            raise InvalidInput(f"{key}: must be one of {', '.join(choices)}")
        return value

    return check


SPECS: dict[str, SettingSpec] = {
    "email_verification_required": SettingSpec(
        False, "Customers must verify their e-mail address before checkout.", boolean
    ),
    "two_factor_policy": SettingSpec(
        TWO_FACTOR_OPTIONAL,
        "TOTP 2FA: optional (opt-in), required (everyone) or required_staff"
        " (moderators and admins); required users enrol at their next login.",
        one_of(*TWO_FACTOR_POLICIES),
    ),
}


MAX_SECRET = 1024


def check_secret(key: str, field: str, value: Any) -> str:
    """A secret as submitted, before it is sealed: 1-1024 characters, no control characters."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_SECRET:
        raise InvalidInput(f"{key}: {field} must be text of 1-{MAX_SECRET} characters")
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise InvalidInput(f"{key}: {field} must not hold control characters")
    return value


def register_setting(key: str, spec: SettingSpec) -> None:
    """Add a key (at import time of the module that owns its meaning)."""
    if key in SPECS:
        raise ValueError(f"setting {key} is already registered")
    SPECS[key] = spec


def spec_of(key: str) -> SettingSpec:
    """The spec of a known key; NotFound names the known keys otherwise."""
    spec = SPECS.get(key)
    if spec is None:
        raise NotFound(f"no setting '{key[:60]}'; known settings: {', '.join(sorted(SPECS))}")
    return spec


def shown(key: str, value: Any) -> Any:
    """A stored value of a key as it may be shown (secret fields masked)."""
    spec = SPECS.get(key)
    return value if spec is None else spec.shown(value)


SHOP_ACTOR = "system:shop"  # who opens the settings stream (before anyone changed a key)


class ShopSettings(Aggregate):
    """The shop's settings; only values that differ from the defaults are stored."""

    class Created(Aggregate.Created):
        """The settings stream was opened (version 2: with its actor)."""

        class_version = 2

        actor: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """The stream was always opened by the shop itself, with its first change."""
            state["actor"] = SHOP_ACTOR

    @event(Created)
    def __init__(self, *, id: UUID, actor: str) -> None:  # id: always SHOP_SETTINGS_ID
        self.values: dict[str, Any] = {}

    @classmethod
    def create(cls) -> ShopSettings:
        """The settings stream, opened with its first change."""
        return cls(id=SHOP_SETTINGS_ID, actor=SHOP_ACTOR)

    def value(self, key: str) -> Any:
        """The current value of a key (its default until someone sets it)."""
        return self.values[key] if key in self.values else spec_of(key).default

    def all(self) -> dict[str, Any]:
        """Every known key with its current value as shown (secret fields masked): listings
        read this, so none can show a secret; code that uses a secret reads `value`."""
        return {key: shown(key, self.value(key)) for key in sorted(SPECS)}

    def change(self, key: str, value: Any, *, actor: str) -> bool:
        """Set a key after its check; False (and no event) when the value is unchanged."""
        stored = spec_of(key).check(key, value)
        previous = self.value(key)
        if stored == previous:
            return False
        self._changed(key=key, value=stored, previous=previous, actor=actor)
        return True

    @event("Changed")
    def _changed(self, key: str, value: Any, previous: Any, actor: str) -> None:
        self.values = {**self.values, key: value}
