"""structlog set-up: JSON lines in production, readable lines in development."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

import structlog

# Keys whose values must never reach a log line, whatever a caller passes.
SECRET_KEYS = frozenset(
    {
        "password",
        "new_password",
        "current_password",
        "token",
        "authorization",
        "secret",
        "jwt_secret",
        "api_key",
        "password_hash",
        # TOTP 2FA
        "code",
        "interim_token",
        "recovery_codes",
        "secret_box",
        "otpauth_uri",
        "secrets_key",
    }
)


def redact_secrets(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Replace the value of any secret-looking key with a marker."""
    for key in event_dict:
        if key.lower() in SECRET_KEYS:
            event_dict[key] = "[redacted]"
    return event_dict


def configure_logging(*, json_lines: bool, level: str = "INFO") -> None:
    """Configure structlog (and route stdlib logging through the same format)."""
    renderer: Any = (
        structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=level, format="%(message)s")
