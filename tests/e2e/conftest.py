"""Fixtures of the end-to-end tests: the `fabledger` command and a data dir for it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def fabledger_command() -> list[str]:
    """The installed console script next to this Python, or the module it runs."""
    script = Path(sys.executable).with_name("fabledger")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "workers.cli"]


@pytest.fixture
def served_env(tmp_path: Path) -> dict[str, str]:
    """Environment of an embedded-mode process on a fresh data dir (SQLite, in-process views)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FABLEDGER_")}
    env.pop("MAX_FILE_SIZE_MB", None)
    env.update(
        {
            "FABLEDGER_DATA_DIR": str(tmp_path / "data"),
            "FABLEDGER_JWT_SECRET": "e2e-jwt-secret-long-enough-for-hs256-signing",
            "FABLEDGER_READ_WAIT_SECONDS": "5",
            # Every client here is 127.0.0.1: stories that check the limits turn them on.
            "FABLEDGER_RATE_LIMITS_ENABLED": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env
