"""Shop settings: every key with its value, one change, and the audit trail."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class Setting(BaseModel):
    """One setting: its value now, its default and what it does."""

    value: Any
    default: Any
    description: str


class SettingsAnswer(BaseModel):
    """Every shop setting keyed by key, and the settings stream's version."""

    settings: dict[str, Setting]
    version: int


class ChangedSetting(BaseModel):
    """A setting after a change; `changed` is false when the value was already that."""

    key: str
    value: Any
    previous: Any
    changed: bool
    position: int


class SettingChangeRow(BaseModel):
    """One change in the audit trail: what it became, what it was, who, when."""

    key: str
    value: Any
    previous: Any
    actor: str
    at: str
    version: int


class SettingHistory(BaseModel):
    """Every change, oldest first."""

    changes: list[SettingChangeRow]
