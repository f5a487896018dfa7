"""A process that cannot reach its database at start retries a few times, then says why."""

from __future__ import annotations

from pathlib import Path

import pytest
from eventsourcing.persistence import OperationalError
from structlog.testing import capture_logs

from infra.bootstrap import bootstrap_when_ready
from infra.settings import Settings
from tests.support.postgres import free_port


def test_an_unreachable_database_is_retried_then_refused(tmp_path: Path) -> None:
    nobody = f"postgresql://fabledger@127.0.0.1:{free_port()}/fabledger"
    settings = Settings(data_dir=tmp_path, database_url=nobody, jwt_secret="x" * 40)
    with capture_logs() as logs, pytest.raises(OperationalError):
        bootstrap_when_ready(settings, attempts=2)
    retries = [entry for entry in logs if entry["event"] == "startup_retry"]
    assert [(r["attempt"], r["retry_in"]) for r in retries] == [(1, 0.5)]
