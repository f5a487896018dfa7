"""Story: read models fed from Kafka equal a rebuild from the event log, exactly once.

The relay publishes the ordering log; the orders and stats views are built by consumer
groups that commit each poll batch's effects together with its offsets. A redelivered
record, a record the relay sent twice and one that arrives before its predecessor all
leave the views as a rebuild from the log makes them; so does a batch whose transaction
failed, and two consumers sharing the partitions. The same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from application.ordering import OrderingApp
from infra.kafka.codec import encode_event, encode_watermark
from infra.kafka.config import ensure_topic, group_for, new_consumer, new_producer
from infra.kafka.consumer import KafkaProjection, reset
from infra.kafka.positions import KafkaViewPosition
from infra.kafka.relay import Relay
from infra.views_db import PostgresViewDatabase, SQLiteViewDatabase
from projections.base import Cursor, EventRecord, Projection, ViewDatabase
from projections.orders import OrdersProjection
from projections.runner import ProjectionRunner
from projections.stats import StatsProjection
from tests.support.kafka import FAST_GROUP, TansuBroker
from tests.support.order_stream import write_orders
from tests.support.postgres import PostgresServer

PARTITIONS = 6


@dataclass
class Stores:
    """The ordering log, the views Kafka feeds, and a second view database for rebuilds."""

    app: OrderingApp
    views: ViewDatabase
    rebuilt: ViewDatabase


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    if request.param == "sqlite":
        env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "o")}
        made = Stores(
            OrderingApp(env=env),
            SQLiteViewDatabase(tmp_path / "views.db"),
            SQLiteViewDatabase(tmp_path / "rebuilt.db"),
        )
        yield made
        made.app.close()
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    names = [f"test_{uuid4().hex}" for _ in range(2)]
    for name in names:
        server.create_database(name)
    db = server.database(names[0])
    made = Stores(
        OrderingApp(env=db.eventsourcing_env()),
        PostgresViewDatabase(db.dsn),
        PostgresViewDatabase(server.dsn(names[1])),
    )
    try:
        yield made
    finally:
        made.app.close()
        for views in (made.views, made.rebuilt):
            views.close()  # type: ignore[attr-defined]
        for name in names:
            server.drop_database(name)


def published(broker: TansuBroker, stores: Stores, events: int) -> tuple[str, int]:
    """A fresh topic holding `events` (or a few more) order events; (topic, head)."""
    topic = f"test.{uuid4().hex[:10]}.ordering"
    ensure_topic(broker.bootstrap, topic, PARTITIONS)
    head = write_orders(stores.app, events)
    producer = new_producer(broker.bootstrap)
    relay = Relay(stores.app, stores.views, producer, topic)
    while relay.publish():
        pass
    producer.close()
    return topic, head


def projection_for(
    broker: TansuBroker, stores: Stores, projection: Projection, topic: str, group: str = ""
) -> KafkaProjection:
    group = group or f"{group_for(projection.name)}.{uuid4().hex[:8]}"
    return KafkaProjection(
        projection,
        stores.views,
        topic,
        group,
        lambda: new_consumer(broker.bootstrap, group, **FAST_GROUP),
        poll_timeout_ms=100,
    )


def follow(consumers: Sequence[KafkaProjection], head: int, timeout: float = 60) -> None:
    """Poll until every consumer's view has folded the log up to `head`."""
    deadline = time.monotonic() + timeout
    for consumer in consumers:
        waiter = KafkaViewPosition(consumer.name, consumer.views, consumer.topic, consumer.group_id)
        while waiter.position() < head:
            assert time.monotonic() < deadline, f"{consumer.name} stuck at {waiter.position()}"
            for each in consumers:
                each.poll()


def ends_of(consumer: KafkaProjection) -> list[Any]:
    return list(consumer.consumer.assignment())


def digest(views: ViewDatabase, projection: Projection) -> str:
    with views.reading() as cur:
        return hashlib.sha256(repr(list(projection.dump(cur))).encode()).hexdigest()


def rebuilt(stores: Stores, projection: Projection) -> str:
    ProjectionRunner(stores.app, projection, stores.rebuilt).rebuild()
    return digest(stores.rebuilt, projection)


def offsets(views: ViewDatabase, group: str) -> list[tuple[Any, ...]]:
    with views.reading() as cur:
        cur.execute(
            "SELECT partition, next_offset, watermark, applied_position FROM consumer_offsets"
            " WHERE group_id = ? ORDER BY partition",
            (group,),
        )
        return [tuple(r) for r in cur.fetchall()]


def test_kafka_fed_views_equal_a_rebuild_and_a_redelivery_changes_nothing(
    kafka_broker: TansuBroker, stores: Stores
) -> None:
    topic, head = published(kafka_broker, stores, 3000)
    consumers = [
        projection_for(kafka_broker, stores, p, topic)
        for p in (OrdersProjection(), StatsProjection())
    ]
    follow(consumers, head)
    for consumer in consumers:
        assert digest(stores.views, consumer.projection) == rebuilt(stores, consumer.projection)

    orders = consumers[0]
    before, stored = digest(stores.views, orders.projection), offsets(stores.views, orders.group_id)
    assert len(stored) == PARTITIONS and all(row[2] == head for row in stored)
    ends = {row[0]: row[1] for row in stored}
    for tp in orders.consumer.assignment():
        orders.consumer.seek(tp, 0)  # Kafka hands every record over again
    applied, deadline = 0, time.monotonic() + 30
    while any(orders.consumer.position(tp) < ends[tp.partition] for tp in ends_of(orders)):
        assert time.monotonic() < deadline, "the records were not delivered again"
        applied += orders.poll()
    assert applied == 0
    assert digest(stores.views, orders.projection) == before
    assert offsets(stores.views, orders.group_id) == stored
    for consumer in consumers:
        consumer.close()


def test_read_your_writes_waits_for_every_partitions_watermark(
    kafka_broker: TansuBroker, stores: Stores
) -> None:
    topic, head = published(kafka_broker, stores, 500)
    consumer = projection_for(kafka_broker, stores, OrdersProjection(), topic)
    waiter = KafkaViewPosition("orders", stores.views, topic, consumer.group_id)
    assert waiter.name == "orders"
    assert not waiter.wait_for(1, timeout=0.1)  # nothing folded yet
    follow([consumer], head)
    assert waiter.wait_for(head, timeout=0.1)
    assert not waiter.wait_for(head + 1, timeout=0.2)  # not written yet
    consumer.close()


class FailsOnce(Projection):
    """The orders projection whose first batch's transaction fails (the database went away)."""

    name = "orders"

    def __init__(self) -> None:
        self.inner, self.failed = OrdersProjection(), False

    def create(self, cur: Cursor) -> None:
        self.inner.create(cur)

    def drop(self, cur: Cursor) -> None:
        self.inner.drop(cur)

    def apply(self, cur: Cursor, events: Sequence[EventRecord]) -> None:
        self.inner.apply(cur, events)
        if not self.failed:
            self.failed = True
            raise ConnectionError("database went away mid-batch")

    def dump(self, cur: Cursor) -> Iterator[tuple[Any, ...]]:
        return self.inner.dump(cur)


def test_a_batch_whose_transaction_failed_is_read_again(
    kafka_broker: TansuBroker, stores: Stores
) -> None:
    topic, head = published(kafka_broker, stores, 1000)
    consumer = projection_for(kafka_broker, stores, FailsOnce(), topic)
    with pytest.raises(ConnectionError):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            consumer.poll()
    follow([consumer], head)
    assert digest(stores.views, consumer.projection) == rebuilt(stores, OrdersProjection())
    consumer.close()


def test_records_sent_twice_or_before_their_predecessor_apply_once_in_order(
    kafka_broker: TansuBroker, stores: Stores
) -> None:
    """What a relay retry after a partly failed batch can leave in one partition."""
    head = write_orders(stores.app, 40, block=10)
    topic = f"test.{uuid4().hex[:10]}.ordering"
    ensure_topic(kafka_broker.bootstrap, topic, 1)
    notifications = stores.app.recorder.select_notifications(start=None, limit=head)
    coder = stores.app.mapper.transcoder
    chain = [
        encode_event("ordering", n, coder, partition=0, previous=n.id - 1) for n in notifications
    ]
    mark = encode_watermark("ordering", head, partition=0, previous=head)
    middle = len(chain) // 2
    # The first attempt lost the middle record but its successor got through; then the
    # whole batch went again, and the first batch's watermark arrived late.
    sent = [*chain[:middle], *chain[middle + 1 :], *chain, mark, chain[0], mark]
    producer = new_producer(kafka_broker.bootstrap)
    for m in sent:
        producer.send(topic, value=m.value, key=m.key, headers=m.headers, partition=0)
    producer.flush()
    producer.close()

    consumer = projection_for(kafka_broker, stores, OrdersProjection(), topic)
    follow([consumer], head)
    assert digest(stores.views, consumer.projection) == rebuilt(stores, OrdersProjection())
    assert offsets(stores.views, consumer.group_id) == [(0, len(sent), head, head)]
    consumer.close()


def test_two_instances_of_a_group_share_the_partitions(
    kafka_broker: TansuBroker, stores: Stores
) -> None:
    """Each instance polls in its own thread, as in `fabledger worker projections`."""
    topic, head = published(kafka_broker, stores, 3000)
    group = f"{group_for('orders')}.{uuid4().hex[:8]}"
    stop, shares = threading.Event(), [set[int](), set[int]()]

    def member(index: int) -> None:
        consumer = projection_for(kafka_broker, stores, OrdersProjection(), topic, group)
        try:
            while not stop.is_set():
                consumer.poll()
                shares[index] = {tp.partition for tp in consumer.consumer.assignment()}
        finally:
            consumer.close()

    def shared() -> bool:
        # Until an instance hears of a rebalance, both may hold a partition for a moment:
        # the compare-and-set offsets keep that harmless.
        first, second = shares
        return bool(first and second) and not first & second and first | second == set(range(6))

    members = [threading.Thread(target=member, args=(i,)) for i in (0, 1)]
    for thread in members:
        thread.start()
    waiter = KafkaViewPosition("orders", stores.views, topic, group)
    try:
        deadline = time.monotonic() + 60
        while not (waiter.position() >= head and shared()):
            assert time.monotonic() < deadline, f"at {waiter.position()}, shares {shares}"
            time.sleep(0.2)
    finally:
        stop.set()
        for thread in members:
            thread.join(timeout=30)
    assert digest(stores.views, OrdersProjection()) == rebuilt(stores, OrdersProjection())


def test_reset_drops_the_view_and_reads_the_topic_again(
    kafka_broker: TansuBroker, stores: Stores
) -> None:
    topic, head = published(kafka_broker, stores, 500)
    consumer = projection_for(kafka_broker, stores, StatsProjection(), topic)
    follow([consumer], head)
    built = digest(stores.views, consumer.projection)
    consumer.close()
    reset(stores.views, consumer.projection, consumer.group_id)
    assert offsets(stores.views, consumer.group_id) == []
    again = projection_for(kafka_broker, stores, StatsProjection(), topic, consumer.group_id)
    follow([again], head)
    assert digest(stores.views, again.projection) == built
    again.close()
