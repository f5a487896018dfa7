"""Story: a stored event becomes a documented JSON message and comes back unchanged."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate, event

from application.ordering import OrderingApp
from domain.users import User
from infra.kafka import codec
from infra.kafka.codec import decode, dumps, encode_event, encode_watermark, header
from projections.runner import event_record
from tests.support.order_stream import write_orders


def app_with_orders() -> OrderingApp:
    app = OrderingApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    write_orders(app, 300)
    return app


def test_every_order_event_round_trips_to_what_the_log_runner_folds() -> None:
    app = app_with_orders()
    notifications = app.recorder.select_notifications(start=None, limit=10_000)
    for n in notifications:
        message = encode_event("ordering", n, app.mapper.transcoder, partition=3, previous=7)
        delivered = decode(message.value, message.headers)
        assert delivered is not None
        assert delivered.event == event_record(app, n)
        assert (delivered.position, delivered.previous) == (n.id, 7)


def test_the_spliced_fast_path_writes_the_same_bytes_as_the_general_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = app_with_orders()
    notifications = app.recorder.select_notifications(start=None, limit=10_000)
    coder = app.mapper.transcoder
    fast = [
        encode_event("ordering", n, coder, partition=0, previous=0).value for n in notifications
    ]
    monkeypatch.setattr(codec, "_cut", lambda raw: None)
    general = [
        encode_event("ordering", n, coder, partition=0, previous=0).value for n in notifications
    ]
    assert fast == general


def test_the_value_and_headers_are_the_documented_format() -> None:
    app = app_with_orders()
    n = app.recorder.select_notifications(start=None, limit=1)[0]
    message = encode_event("ordering", n, app.mapper.transcoder, partition=1, previous=0)
    document = json.loads(message.value)
    assert set(document) == {
        "kind",
        "version",
        "application",
        "position",
        "originator_id",
        "originator_version",
        "topic",
        "type",
        "timestamp",
        "data",
    }
    assert document["application"] == "ordering"
    assert document["topic"] == "domain.orders:Order.Placed"
    assert document["type"] == "Placed"
    assert document["timestamp"].endswith("+00:00")
    assert not {"originator_id", "originator_version", "originator_topic", "timestamp"} & set(
        document["data"]
    )
    assert message.key == document["originator_id"].encode()
    assert header(message.headers, "event-type") == "Placed"
    assert header(message.headers, "aggregate-version") == "1"
    assert header(message.headers, "notification-position") == str(n.id)
    assert header(message.headers, "application") == "ordering"


def test_a_watermark_names_its_position_and_has_no_key() -> None:
    message = encode_watermark("ordering", 42, partition=2, previous=40)
    assert message.key is None
    assert json.loads(message.value) == {
        "kind": "watermark",
        "application": "ordering",
        "up_to_position": 42,
    }
    assert header(message.headers, "event-type") == "Watermark"
    delivered = decode(message.value, message.headers)
    assert delivered is not None
    assert (delivered.position, delivered.previous, delivered.event) == (42, 40, None)


class Shipment(Aggregate):
    """An aggregate with the values an event may hold besides JSON's own."""

    @event("Booked")
    def __init__(self, carrier_id: UUID, due: datetime, fee: Decimal) -> None:
        self.carrier_id = carrier_id


def test_uuids_datetimes_and_decimals_are_rendered_as_strings() -> None:
    app = OrderingApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    carrier, due = uuid4(), datetime(2026, 11, 21, 10, 30, tzinfo=UTC)
    app.save(Shipment(carrier_id=carrier, due=due, fee=Decimal("12.50")))
    n = app.recorder.select_notifications(start=None, limit=1)[0]
    message = encode_event("ordering", n, app.mapper.transcoder, partition=0, previous=0)
    data = json.loads(message.value)["data"]
    assert data == {"carrier_id": str(carrier), "due": due.isoformat(), "fee": "12.50"}


def test_credentials_never_leave_the_event_store() -> None:
    app = OrderingApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    user = User.register(
        email="maker@example.com",
        username="maker",
        password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        role="user",
        actor="system",
    )
    app.save(user)
    n = app.recorder.select_notifications(start=None, limit=1)[0]
    message = encode_event("identity", n, app.mapper.transcoder, partition=0, previous=0)
    assert b"argon2" not in message.value
    data = json.loads(message.value)["data"]
    assert data["password_hash"] == "[redacted]" and data["email"] == "maker@example.com"


def test_library_objects_are_refused() -> None:
    with pytest.raises(TypeError, match="cannot put object"):
        dumps({"mesh": object()})
