"""The rate-limiter configuration: GET answers it, PUT changes any of its fields."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.text import TextBody
from domain.rate_limits import MAX_REQUESTS, MAX_WINDOW_MIN

Role = Literal["user", "moderator", "admin"]
WindowMin = Annotated[
    int | None, Field(default=None, strict=True, ge=1, le=MAX_WINDOW_MIN, description="Minutes.")
]
Max = Annotated[
    int | None,
    Field(default=None, strict=True, ge=1, le=MAX_REQUESTS, description="Requests per window."),
]


class RateLimiterConfig(BaseModel):
    """Requests per client IP and window for each limiter, and who skips general and upload."""

    general_window_min: int
    general_max: int
    upload_window_min: int
    upload_max: int
    auth_window_min: int
    auth_max: int
    quote_window_min: int
    quote_max: int
    model_file_window_min: int
    model_file_max: int
    bypass_roles: list[Role]
    enabled: bool = Field(
        description="Whether this API process enforces the limits (FABLEDGER_RATE_LIMITS_ENABLED)."
    )


class RateLimiterChange(TextBody):
    """The seed's body (general and upload limits, bypass roles) plus the auth, quote and
    model-file limits; every field is optional and a field left out keeps its value."""

    model_config = ConfigDict(extra="forbid")  # a misspelt field is a 422, not a no-op

    general_window_min: WindowMin = None
    general_max: Max = None
    upload_window_min: WindowMin = None
    upload_max: Max = None
    auth_window_min: WindowMin = None
    auth_max: Max = None
    quote_window_min: WindowMin = None
    quote_max: Max = None
    model_file_window_min: WindowMin = None
    model_file_max: Max = None
    bypass_roles: list[Role] | None = Field(
        default=None,
        max_length=3,
        description="Roles exempt from the general and upload limiters (auth never).",
    )


class RateLimiterChanged(RateLimiterConfig):
    """The configuration after a change; `changed` is false when it already was that."""

    changed: bool
    position: int
