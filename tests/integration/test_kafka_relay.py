"""Story: the relay publishes the ordering log to Kafka, in order, and never skips.

Orders written through the ordering application are published keyed by order id: every
position exactly once, each order in one partition with its versions in order, the
documented headers on every record, and a watermark closing every partition. A relay
that dies in the middle of a batch records nothing, and the next one starts again from
the last batch the broker acknowledged.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from kafka.errors import KafkaError, KafkaTimeoutError

from application.developer import DeveloperApp
from application.ordering import OrderingApp
from domain.plans import QUICK_INFO
from infra.kafka.codec import header
from infra.kafka.config import close_producer, ensure_topic, new_producer, topic_for
from infra.kafka.relay import MIRROR_SUFFIX, Abandoned, PublishFailed, Relay
from infra.views_db import SQLiteViewDatabase
from tests.support.kafka import TansuBroker, WrappedProducer, read_topic
from tests.support.order_stream import write_orders

PARTITIONS = 6


@pytest.fixture
def app(tmp_path: Path) -> Iterator[OrderingApp]:
    app = OrderingApp(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "o.db")}
    )
    yield app
    app.close()


@pytest.fixture
def views(tmp_path: Path) -> SQLiteViewDatabase:
    return SQLiteViewDatabase(tmp_path / "views.db")


@pytest.fixture
def topic(kafka_broker: TansuBroker) -> str:
    name = f"test.{uuid4().hex[:10]}.ordering"
    ensure_topic(kafka_broker.bootstrap, name, PARTITIONS)
    return name


def relay_all(relay: Relay) -> int:
    published = 0
    while count := relay.publish():
        published += count
    return published


def events_and_watermarks(records: list[Any]) -> tuple[list[Any], list[Any]]:
    events = [r for r in records if header(r.headers, "event-type") != "Watermark"]
    marks = [r for r in records if header(r.headers, "event-type") == "Watermark"]
    return events, marks


def test_topics_are_named_after_the_bounded_context() -> None:
    assert topic_for("ordering") == "fabledger.ordering"
    assert topic_for("developer") == "fabledger.developer"


def test_every_order_event_is_published_once_in_per_order_order(
    kafka_broker: TansuBroker, app: OrderingApp, views: SQLiteViewDatabase, topic: str
) -> None:
    head = write_orders(app, 2500)
    producer = new_producer(kafka_broker.bootstrap)
    relay = Relay(app, views, producer, topic, batch_size=700)
    assert relay_all(relay) == head
    assert relay.position() == head
    events, marks = events_and_watermarks(read_topic(kafka_broker.bootstrap, topic, until=head))

    assert sorted(int(header(r.headers, "notification-position") or 0) for r in events) == list(
        range(1, head + 1)
    )
    partitions_of: dict[bytes, set[int]] = defaultdict(set)
    versions_of: dict[bytes, list[int]] = defaultdict(list)
    for record in events:  # read partition by partition, each in offset order
        partitions_of[record.key].add(record.partition)
        versions_of[record.key].append(int(header(record.headers, "aggregate-version") or 0))
        assert header(record.headers, "application") == "ordering"
        assert header(record.headers, "event-type") in {
            "Placed",
            "StatusChanged",
            "PaymentConfirmed",
            "NoteAdded",
        }
    assert all(len(p) == 1 for p in partitions_of.values())
    assert all(v == list(range(1, len(v) + 1)) for v in versions_of.values())
    assert len({r.partition for r in events}) == PARTITIONS  # keys spread over all of them
    last_marks = {r.partition: r for r in marks}
    assert sorted(last_marks) == list(range(PARTITIONS))
    assert all(header(r.headers, "up-to-position") == str(head) for r in last_marks.values())
    assert all(header(r.headers, "record-kind") == "watermark" for r in marks)
    assert all(header(r.headers, "record-kind") == "event" for r in events)
    producer.close()


class DyingProducer(WrappedProducer):
    """A producer that dies at its `sends`th record: raising, or closed under the relay."""

    def __init__(self, bootstrap: str, sends: int, how: str) -> None:
        super().__init__(new_producer(bootstrap))
        self.sends, self.how = sends, how

    def send(self, topic: str, *args: Any, **kwargs: Any) -> Any:
        self.sends -= 1
        if self.sends == 0:
            if self.how == "raise":
                raise RuntimeError("killed mid-batch")
            close_producer(self.inner)  # dies with records buffered and more to send
        return super().send(topic, *args, **kwargs)


@pytest.mark.parametrize("how", ["raise", "close"])
def test_a_relay_killed_mid_batch_records_nothing_and_its_successor_skips_nothing(
    kafka_broker: TansuBroker, app: OrderingApp, views: SQLiteViewDatabase, topic: str, how: str
) -> None:
    head = write_orders(app, 1500)
    healthy = Relay(app, views, new_producer(kafka_broker.bootstrap), topic, batch_size=500)
    assert healthy.publish() == 500

    dying = Relay(
        app, views, DyingProducer(kafka_broker.bootstrap, 300, how), topic, batch_size=500
    )
    with pytest.raises((RuntimeError, KafkaError)):  # killed, or sending on a closed client
        dying.publish()
    assert dying.position() == 500  # the half-sent batch was not recorded

    assert relay_all(healthy) == head - 500
    events, _ = events_and_watermarks(read_topic(kafka_broker.bootstrap, topic, until=head))
    positions = {int(header(r.headers, "notification-position") or 0) for r in events}
    assert positions == set(range(1, head + 1))  # some twice (at least once), none missing


class SilentProducer(WrappedProducer):
    """A broker that never answers: every flush times out."""

    def flush(self, timeout: float | None = None) -> None:
        raise KafkaTimeoutError("no answer")


def test_a_stop_request_abandons_an_unacknowledged_batch(
    kafka_broker: TansuBroker, app: OrderingApp, views: SQLiteViewDatabase, topic: str
) -> None:
    write_orders(app, 100)
    producer = new_producer(kafka_broker.bootstrap)
    relay = Relay(app, views, SilentProducer(producer), topic, ack_timeout=60)
    stop = threading.Event()
    stop.set()
    with pytest.raises(Abandoned):
        relay.publish(stop)
    assert relay.position() == 0
    relay.ack_timeout = 0.5
    with pytest.raises(PublishFailed, match="no acknowledgement"):
        relay.publish()
    assert relay.position() == 0
    producer.close()


def test_an_existing_topic_keeps_its_partitions_and_a_changed_count_stops_the_relay(
    kafka_broker: TansuBroker, app: OrderingApp, views: SQLiteViewDatabase
) -> None:
    name = f"test.{uuid4().hex[:10]}.ordering"
    ensure_topic(kafka_broker.bootstrap, name, 3)
    ensure_topic(kafka_broker.bootstrap, name, 6)  # already there: left as it is
    producer = new_producer(kafka_broker.bootstrap)
    assert producer.partitions_for(name) == {0, 1, 2}
    write_orders(app, 100)
    assert Relay(app, views, producer, name).publish() > 0
    other = f"test.{uuid4().hex[:10]}.ordering"
    ensure_topic(kafka_broker.bootstrap, other, 4)
    write_orders(app, 100, seed=8)
    # Same application, a topic with another partition count: keys would move partition.
    with pytest.raises(PublishFailed, match="4 partitions but 3"):
        Relay(app, views, producer, other).publish()
    producer.close()


def test_during_a_migration_the_mirror_carries_the_whole_log_with_changed_types_one_version_back(
    kafka_broker: TansuBroker, tmp_path: Path, views: SQLiteViewDatabase
) -> None:
    developer = DeveloperApp(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "d.db")}
    )
    try:
        org = developer.create_org(name="Acme", owner_id="u1")
        for n in range(3):
            developer.record_usage(
                org_id=str(org.id), product=QUICK_INFO, key_id="k1", request_id=f"r{n}"
            )
        head = developer.recorder.max_notification_id() or 0
        topic = f"test.{uuid4().hex[:10]}.developer"
        mirror = f"{topic}{MIRROR_SUFFIX}"
        for name in (topic, mirror):
            ensure_topic(kafka_broker.bootstrap, name, PARTITIONS)
        producer = new_producer(kafka_broker.bootstrap)
        try:
            assert relay_all(Relay(developer, views, producer, topic, mirror=mirror)) == head
        finally:
            close_producer(producer)
        main, _ = events_and_watermarks(read_topic(kafka_broker.bootstrap, topic, until=head))
        back, _ = events_and_watermarks(read_topic(kafka_broker.bootstrap, mirror, until=head))
    finally:
        developer.close()

    def by_position(records: list[Any]) -> dict[int, tuple[dict[str, Any], dict[str, str]]]:
        return {
            int(header(r.headers, "notification-position") or 0): (
                json.loads(r.value),
                {k: v.decode() for k, v in r.headers},
            )
            for r in records
        }

    now, before = by_position(main), by_position(back)
    assert sorted(now) == sorted(before) == list(range(1, head + 1))  # every event, both
    for position, (value, headers) in now.items():
        old, old_headers = before[position]
        assert old_headers["previous-position"] == headers["previous-position"]  # same chain
        if value["topic"] == "domain.meters:Meter.UsageRecorded":
            assert (value["version"], value["data"]["actor"]) == (2, "key:k1")
            assert (old["version"], old_headers["event-version"]) == (1, "1")
            assert old["data"] == {
                "key_id": "k1",
                "request_id": old["data"]["request_id"],
                "units": 1,
            }
        elif value["topic"] == "domain.organizations:Organization.Created":
            assert old == value  # a type that did not change is published alike
