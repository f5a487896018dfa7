"""Story: a rebuild loads the orders view first and indexes it after, and ends equal."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from application.ordering import OrderingApp
from infra.transcoder import FastJSONTranscoder
from infra.views_db import PostgresViewDatabase, SQLiteViewDatabase
from projections.base import Cursor, EventRecord, ViewDatabase
from projections.orders import OrdersProjection
from projections.runner import DeferredIndexes, ProjectionRunner
from tests.support.order_stream import write_orders
from tests.support.postgres import PostgresDatabase

FAST = {"TRANSCODER_TOPIC": "infra.transcoder:FastJSONTranscoder"}
INDEXES = {"orders_view_customer", "orders_view_status", "orders_view_created", "orders_view_group"}


@pytest.fixture(params=["sqlite", "postgres"])
def stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[OrderingApp, ViewDatabase]]:
    """The ordering log and a view database on one backend."""
    views: Any
    if request.param == "sqlite":
        env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "o")}
        views = SQLiteViewDatabase(tmp_path / "views.db")
    else:
        database: PostgresDatabase = request.getfixturevalue("postgres_db")
        env = database.eventsourcing_env()
        views = PostgresViewDatabase(database.dsn, max_size=2)
    app = OrderingApp(env={**env, **FAST})
    assert isinstance(app.mapper.transcoder, FastJSONTranscoder)
    write_orders(app, 300)
    try:
        yield app, views
    finally:
        views.close()
        app.close()


def secondary_indexes(views: ViewDatabase) -> set[str]:
    with views.reading() as cur:
        if views.dialect == "postgres":
            cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'orders_view'")
        else:
            cur.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'orders_view'"
            )
        return {row[0] for row in cur.fetchall()} & INDEXES


def dump(views: ViewDatabase) -> list[tuple[Any, ...]]:
    with views.reading() as cur:
        return list(OrdersProjection().dump(cur))


def test_a_rebuild_in_big_batches_equals_the_view_folded_a_few_events_at_a_time(
    stores: tuple[OrderingApp, ViewDatabase],
) -> None:
    app, views = stores
    assert isinstance(OrdersProjection(), DeferredIndexes)
    live = ProjectionRunner(app, OrdersProjection(), views, batch_size=7, backlog_batch_size=7)
    assert live.catch_up() == app.position()
    folded = dump(views)
    log = app.recorder.select_notifications(start=None, limit=10_000)
    assert len(folded) == sum(n.topic.endswith(".Placed") for n in log) > 20
    assert secondary_indexes(views) == INDEXES

    rebuilt = ProjectionRunner(app, OrdersProjection(), views, batch_size=50)
    assert rebuilt.rebuild() == app.position()
    assert dump(views) == folded
    assert secondary_indexes(views) == INDEXES
    assert rebuilt.position() == app.position()


class FailsAfterFirstBatch(OrdersProjection):
    """The orders projection, failing on its second batch (a database gone mid-rebuild)."""

    def __init__(self) -> None:
        self.batches = 0

    def apply(self, cur: Cursor, events: Sequence[EventRecord]) -> None:
        self.batches += 1
        if self.batches > 1:
            raise RuntimeError("database went away")
        super().apply(cur, events)


def test_a_rebuild_that_fails_midway_leaves_the_view_indexed_and_resumable(
    stores: tuple[OrderingApp, ViewDatabase],
) -> None:
    app, views = stores
    failing = ProjectionRunner(app, FailsAfterFirstBatch(), views, batch_size=100)
    with pytest.raises(RuntimeError, match="went away"):
        failing.rebuild()
    assert failing.position() == 100
    assert secondary_indexes(views) == INDEXES

    resumed = ProjectionRunner(app, OrdersProjection(), views)
    assert resumed.catch_up() == app.position() - 100
    after_resuming = dump(views)
    resumed.rebuild()
    assert dump(views) == after_resuming
    assert resumed.position() == app.position()
