"""The rate limiters: their names, the seed's defaults, and the check of a new configuration.

The configuration is one shop setting ("rate_limiter"), so each change is an event with its
actor and the previous value, and every API process reads it live. It is stored flat, in
the seed's body fields (`general_window_min`, `general_max`, ..., `bypass_roles`).

Every limiter is adjustable, not only the two the seed's body names (general and upload):
an operator under a credential-stuffing wave tightens `auth_max` without a restart. What
is not adjustable is who the auth, quote and model-file limiters spare: nobody. Bypass
roles are exempt from the general and upload limiters only (seed: "Auth endpoints are
never bypassed"; quote and model file are not named among the exemptions).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.errors import InvalidInput
from domain.shop.settings import SettingSpec, register_setting
from domain.users import ADMIN, ROLES

SETTING_KEY = "rate_limiter"

GENERAL = "general"  # every /api/* request the others do not take
UPLOAD = "upload"  # /api/checkout, /api/upload-for-cart, /api/cart-checkout
AUTH = "auth"  # sign-in, sign-up, password reset and 2FA: credential stuffing
QUOTE = "quote"  # /api/quote
MODEL_FILE = "model_file"  # /api/models/:id/file
LIMITERS = (GENERAL, UPLOAD, AUTH, QUOTE, MODEL_FILE)
BYPASSABLE = frozenset({GENERAL, UPLOAD})

MAX_WINDOW_MIN = 24 * 60  # a day: a longer window is a ban, not a rate
MAX_REQUESTS = 1_000_000


@dataclass(frozen=True)
class Limit:
    """At most `max` requests per client IP in each window of `window_min` minutes."""

    window_min: int
    max: int

    @property
    def window_seconds(self) -> int:
        """The window in seconds."""
        return self.window_min * 60


@dataclass(frozen=True)
class RateLimits:
    """Every limiter's limit, and the roles the general and upload limiters spare."""

    limits: Mapping[str, Limit]
    bypass_roles: frozenset[str]

    def limit(self, limiter: str) -> Limit:
        """The limit of one limiter."""
        return self.limits[limiter]

    def spares(self, limiter: str, role: str | None) -> bool:
        """Whether a caller with this role skips the limiter (never auth, quote, model file)."""
        return role is not None and limiter in BYPASSABLE and role in self.bypass_roles

    def to_value(self) -> dict[str, Any]:
        """The stored (and answered) form: the seed's flat fields."""
        value: dict[str, Any] = {}
        for name in LIMITERS:
            value[f"{name}_window_min"] = self.limits[name].window_min
            value[f"{name}_max"] = self.limits[name].max
        value["bypass_roles"] = [role for role in ROLES if role in self.bypass_roles]
        return value

    @classmethod
    def from_value(cls, value: Mapping[str, Any]) -> RateLimits:
        """The limits of a stored value; a field it lacks (a limiter added since) is default."""
        merged = {**DEFAULT_VALUE, **value}
        limits = {
            name: Limit(int(merged[f"{name}_window_min"]), int(merged[f"{name}_max"]))
            for name in LIMITERS
        }
        return cls(limits, frozenset(merged["bypass_roles"]))

    def changed(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """The stored form with some fields replaced (the rest kept), checked."""
        return check(SETTING_KEY, {**self.to_value(), **changes})


DEFAULTS = RateLimits(
    limits={
        GENERAL: Limit(window_min=15, max=100),
        UPLOAD: Limit(window_min=60, max=10),
        AUTH: Limit(window_min=15, max=15),
        QUOTE: Limit(window_min=15, max=20),
        MODEL_FILE: Limit(window_min=15, max=30),
    },
    bypass_roles=frozenset({ADMIN}),
)
DEFAULT_VALUE: dict[str, Any] = DEFAULTS.to_value()
FIELDS = tuple(DEFAULT_VALUE)


def _whole(field: str, value: Any, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise InvalidInput(f"{field}: must be a whole number from 1 to {high}")
    return value


def _roles(value: Any) -> list[str]:
    if not isinstance(value, list) or any(not isinstance(role, str) for role in value):
        raise InvalidInput(f"bypass_roles: must be a list of roles ({', '.join(ROLES)})")
    unknown = sorted(set(value) - set(ROLES))
    if unknown:
        raise InvalidInput(
            f"bypass_roles: unknown role {unknown[0][:40]!r}; roles are {', '.join(ROLES)}"
        )
    return [role for role in ROLES if role in value]  # one order, no duplicates


def check(key: str, value: Any) -> dict[str, Any]:
    """A complete configuration, checked field by field; InvalidInput names the field."""
    if not isinstance(value, dict):
        raise InvalidInput(f"{key}: must be an object with {', '.join(FIELDS)}")
    unknown = sorted(set(value) - set(FIELDS))
    if unknown:
        raise InvalidInput(f"{unknown[0][:60]}: unknown field; fields are {', '.join(FIELDS)}")
    missing = [field for field in FIELDS if field not in value]
    if missing:
        raise InvalidInput(f"{missing[0]}: missing")
    checked: dict[str, Any] = {}
    for name in LIMITERS:
        window, most = f"{name}_window_min", f"{name}_max"
        checked[window] = _whole(window, value[window], MAX_WINDOW_MIN)
        checked[most] = _whole(most, value[most], MAX_REQUESTS)
    checked["bypass_roles"] = _roles(value["bypass_roles"])
    return checked


register_setting(
    SETTING_KEY,
    SettingSpec(
        DEFAULT_VALUE,
        "Requests per client IP and window, per limiter (general, upload, auth, quote,"
        " model_file), and the roles the general and upload limiters spare.",
        check,
    ),
)
