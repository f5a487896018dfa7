"""The same application scenarios on the in-memory store, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.bootstrap import Container
from tests.support.factories import container_for


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def container(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Container]:
    """A fresh container on each backend (views in SQLite for memory and sqlite)."""
    url = {"memory": "memory://", "sqlite": ""}.get(request.param)
    if url is None:
        url = request.getfixturevalue("postgres_db").dsn
    built = container_for(tmp_path, url)
    try:
        yield built
    finally:
        built.close()
