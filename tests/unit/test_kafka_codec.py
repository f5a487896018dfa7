"""Story: what another team reads off a topic: two unmistakable kinds, versions, actors, no floats.

An event record says `kind: event` and its class's version in the value and the headers; a
watermark says `kind: watermark` and carries nothing an event has (no position, type or
originator), so a consumer that ignores headers cannot count it. Events stored in an older
version (rupee-float prices, meter events without an actor) go out upcast, exactly as the
aggregate reads them, while current ones keep the spliced fast path.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
from dataclasses import fields, is_dataclass
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.domain import Aggregate, DomainEvent

import domain
from application.ordering import OrderingApp
from domain.material_records import MaterialRecord
from domain.meters import METERING, Meter, meter_id_for
from domain.orders import Order
from domain.plans import PLANS
from domain.shop.settings import SHOP_ACTOR, SHOP_SETTINGS_ID, ShopSettings
from infra.kafka import codec
from infra.kafka.codec import (
    EVENT_FIELDS,
    EVENT_HEADERS,
    LAST_EVENT_HEADER,
    POSITION_HEADER,
    PREVIOUS_POSITION_HEADER,
    RECORD_KIND_HEADER,
    UP_TO_POSITION_HEADER,
    WATERMARK_FIELDS,
    WATERMARK_HEADERS,
    Message,
    decode,
    encode_event,
    encode_watermark,
    wire_version,
)
from tests.support.legacy_events import insert_raw
from tests.support.order_stream import write_orders


def memory_app() -> OrderingApp:
    return OrderingApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def published(app: OrderingApp, application: str = "ordering") -> list[Message]:
    """Every stored event of the app as the relay encodes it (one partition, a chain)."""
    notifications = app.recorder.select_notifications(start=None, limit=10_000)
    coder, previous, messages = app.mapper.transcoder, 0, []
    for n in notifications:
        messages.append(encode_event(application, n, coder, partition=0, previous=previous))
        previous = n.id
    return messages


def value(message: Message) -> dict[str, Any]:
    return dict(json.loads(message.value))


def headers(message: Message) -> dict[str, str]:
    return {name: raw.decode() for name, raw in message.headers}


def test_an_event_record_says_its_kind_and_its_class_version_in_value_and_headers() -> None:
    app = memory_app()
    write_orders(app, 40)
    messages = published(app)
    placed = next(m for m in messages if value(m)["type"] == "Placed")
    noted = [m for m in messages if value(m)["type"] == "StatusChanged"]
    assert list(value(placed)) == list(EVENT_FIELDS)  # the documented order, nothing more
    assert value(placed)["kind"] == "event" and value(placed)["version"] == 2
    assert [name for name, _ in placed.headers] == list(EVENT_HEADERS)
    assert headers(placed)[RECORD_KIND_HEADER] == "event"
    assert headers(placed)["event-version"] == "2"
    assert noted and all(value(m)["version"] == 1 for m in noted)  # no class_version: 1
    assert all(headers(m)["event-version"] == "1" for m in noted)


def test_events_chain_to_the_previous_event_of_their_partition() -> None:
    app = memory_app()
    write_orders(app, 20)
    messages = published(app)
    links = [
        (int(headers(m)[POSITION_HEADER]), int(headers(m)[PREVIOUS_POSITION_HEADER]))
        for m in messages
    ]
    assert links[0][1] == 0
    assert all(prev == before for (_, prev), (before, _) in zip(links[1:], links, strict=False))


def test_a_watermark_carries_nothing_an_event_has() -> None:
    message = encode_watermark("ordering", 42, partition=2, previous=40)
    assert message.key is None and message.partition == 2
    assert value(message) == {"kind": "watermark", "application": "ordering", "up_to_position": 42}
    assert list(value(message)) == list(WATERMARK_FIELDS)
    assert [name for name, _ in message.headers] == list(WATERMARK_HEADERS)
    assert headers(message) == {
        "record-kind": "watermark",
        "event-type": "Watermark",
        "application": "ordering",
        "up-to-position": "42",
        "last-event-position": "40",
    }
    # Outside the event chain: none of the headers an exactly-once consumer chains on.
    assert POSITION_HEADER not in headers(message)
    assert PREVIOUS_POSITION_HEADER not in headers(message)
    delivered = decode(message.value, message.headers)
    assert delivered is not None
    assert (delivered.position, delivered.previous, delivered.event) == (42, 40, None)
    assert {UP_TO_POSITION_HEADER, LAST_EVENT_HEADER} <= set(headers(message))


def test_watermarks_written_before_the_kind_field_are_still_read() -> None:
    """Records already in a topic keep their old form; a rebuilt view reads them too."""
    old_headers = [
        ("event-type", b"Watermark"),
        ("notification-position", b"42"),
        ("application", b"ordering"),
        ("previous-position", b"40"),
    ]
    delivered = decode(b'{"application":"ordering","position":42}', old_headers)
    assert delivered is not None
    assert (delivered.position, delivered.previous, delivered.event) == (42, 40, None)


def test_a_record_of_an_unknown_kind_is_passed_over_not_misread() -> None:
    assert decode(b'{"kind":"snapshot","application":"ordering"}', [("record-kind", b"x")]) is None


def float_era_price() -> dict[str, Any]:
    return {"subtotal": 44.95, "gst": 8.09, "total": 53.04, "gst_pct": 18.0, "currency": "INR"}


def placed_v1(order_id: UUID) -> dict[str, Any]:
    return {
        "originator_topic": "domain.orders:Order",
        "customer_id": "user-1",
        "customer_email": "maker@example.com",
        "tracking_number": "FL-OLD-1",
        "group_id": None,
        "model": {"filename": "old.stl", "volume_cm3": 12.5},
        "material": "PLA",
        "color": "Black",
        "quantity": 1,
        "infill_pct": 20,
        "fulfillment": "pickup",
        "priority": False,
        "shipping_address": None,
        "customer_notes": "",
        "price": float_era_price(),
        "settings_version": 1,
        "request_fingerprint": "f" * 32,
        "actor": "customer:user-1",
    }


def test_a_float_era_placed_goes_out_upcast_with_money_in_paise() -> None:
    app = memory_app()
    order_id = uuid4()
    insert_raw(app, order_id, 1, "domain.orders:Order.Placed", placed_v1(order_id))
    (message,) = published(app)
    document = value(message)
    price = document["data"]["price"]
    assert document["version"] == 2 and headers(message)["event-version"] == "2"
    assert price["total_paise"] == 5304 and price["subtotal_paise"] == 4495
    assert isinstance(price["gst_pct"], str)  # a rate as a decimal string
    assert not {"total", "subtotal", "gst"} & set(price)
    assert document["data"]["class_version"] == 2  # as a version-2 event stores it
    assert b"53.04" not in message.value
    # Exactly what the aggregate reads back through the mapper's upcast.
    order: Order = app.repository.get(order_id)
    assert price == json.loads(json.dumps(order.price))


def test_current_events_take_the_fast_path_and_old_ones_the_upcast(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = memory_app()
    write_orders(app, 10)
    insert_raw(app, uuid4(), 1, "domain.orders:Order.Placed", placed_v1(uuid4()))

    def no_general_path(*args: Any) -> Any:
        raise AssertionError("decoded and re-encoded")

    monkeypatch.setattr(codec, "event_state", no_general_path)
    notifications = app.recorder.select_notifications(start=None, limit=10_000)
    coder = app.mapper.transcoder
    for n in notifications[:-1]:
        encode_event("ordering", n, coder, partition=0, previous=0)  # spliced
    with pytest.raises(AssertionError, match="re-encoded"):
        encode_event("ordering", notifications[-1], coder, partition=0, previous=0)


def test_the_fast_path_and_the_upcasting_path_write_the_same_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = memory_app()
    write_orders(app, 200)
    meter = Meter.open(org_id="org-1", product="analyze", period="2026-12", plan=PLANS["starter"])
    meter.record(key_id="k-1", request_id="r-1", plan=PLANS["starter"])
    app.save(meter)
    fast = [m.value for m in published(app)]
    monkeypatch.setattr(codec, "_cut", lambda raw: None)
    assert [m.value for m in published(app)] == fast


def test_every_meter_event_names_its_actor_on_the_wire() -> None:
    app = memory_app()
    starter, pro = PLANS["starter"], PLANS["pro"]
    meter = Meter.open(org_id="org-1", product="analyze", period="2026-12", plan=starter)
    meter.record(key_id="key-7", request_id="r-1", plan=starter)
    meter.record(key_id="key-8", request_id="r-2", plan=pro)  # the plan changed meanwhile
    app.save(meter)
    actors = [(value(m)["type"], value(m)["data"]["actor"]) for m in published(app, "developer")]
    assert actors == [
        ("Opened", METERING),
        ("UsageRecorded", "key:key-7"),
        ("PlanApplied", METERING),
        ("UsageRecorded", "key:key-8"),
    ]


def test_meter_events_stored_without_an_actor_are_upcast_before_they_are_published() -> None:
    app = memory_app()
    meter_id = meter_id_for("org-1", "analyze", "2026-11")
    opened = {
        "originator_topic": "domain.meters:Meter",
        "org_id": "org-1",
        "product": "analyze",
        "period": "2026-11",
        "tier": "starter",
        "included": 100,
        "hard_cap": True,
    }
    insert_raw(app, meter_id, 1, "domain.meters:Meter.Opened", opened)
    plan = {"tier": "pro", "included": 1000, "hard_cap": False}
    insert_raw(app, meter_id, 2, "domain.meters:Meter.PlanApplied", plan)
    usage = {"key_id": "key-3", "request_id": "r-9", "units": 1}
    insert_raw(app, meter_id, 3, "domain.meters:Meter.UsageRecorded", usage)
    documents = [value(m) for m in published(app, "developer")]
    assert [(d["version"], d["data"]["actor"]) for d in documents] == [
        (2, METERING),
        (2, METERING),
        (2, "key:key-3"),
    ]
    assert documents[2]["data"] == {**usage, "actor": "key:key-3", "class_version": 2}
    meter: Meter = app.repository.get(meter_id)  # the aggregate reads the same old events
    assert (meter.used, meter.tier, meter.hard_cap) == (1, "pro", False)


def test_the_shop_settings_stream_opened_without_an_actor_is_upcast() -> None:
    app = memory_app()
    insert_raw(
        app,
        SHOP_SETTINGS_ID,
        1,
        "domain.shop.settings:ShopSettings.Created",
        {"originator_topic": "domain.shop.settings:ShopSettings"},
    )
    (document,) = [value(m) for m in published(app, "shop")]
    assert (document["version"], document["data"]["actor"]) == (2, SHOP_ACTOR)
    settings: ShopSettings = app.repository.get(SHOP_SETTINGS_ID)
    assert settings.values == {}


def test_a_material_stored_with_a_rupee_float_cost_goes_out_in_paise() -> None:
    app = memory_app()
    spec = {
        "code": "PLA",
        "display_name": "PLA",
        "density_g_cm3": 1.24,
        "cost_per_kg": 1200.5,
        "colors": ["Black"],
        "active": True,
        "notes": "",
    }
    record_id = uuid4()
    state = {"originator_topic": "domain.material_records:MaterialRecord", "spec": spec}
    insert_raw(
        app,
        record_id,
        1,
        "domain.material_records:MaterialRecord.Added",
        {**state, "actor": "system:seed"},
    )
    (message,) = published(app, "catalog")
    data = value(message)["data"]
    assert data["spec"]["cost_per_kg_paise"] == 120050 and "cost_per_kg" not in data["spec"]
    assert value(message)["version"] == 2
    assert app.repository.get(record_id).spec == data["spec"]
    assert isinstance(app.repository.get(record_id), MaterialRecord)


def test_an_event_written_by_a_newer_release_is_published_as_stored() -> None:
    """No downcast exists: its own version number tells consumers what they read."""
    app = memory_app()
    newer = {**placed_v1(uuid4()), "class_version": 3}
    insert_raw(app, uuid4(), 1, "domain.orders:Order.Placed", newer)
    (message,) = published(app)
    assert value(message)["version"] == 3 and headers(message)["event-version"] == "3"
    assert value(message)["data"]["price"]["total"] == 53.04  # nothing was rewritten


def test_an_event_class_this_process_cannot_import_is_published_as_stored() -> None:
    app = memory_app()
    insert_raw(app, uuid4(), 1, "gone.module:Thing.Happened", {"actor": "system", "n": 1})
    (message,) = published(app)
    assert value(message)["version"] == 1 and value(message)["data"] == {"actor": "system", "n": 1}
    assert wire_version("gone.module:Thing.Happened") == 1


def domain_event_classes() -> list[type]:
    """Every concrete event class of every aggregate in the domain package."""
    found: dict[str, type] = {}
    for info in pkgutil.walk_packages(domain.__path__, "domain."):
        module = importlib.import_module(info.name)
        for aggregate in vars(module).values():
            if not (inspect.isclass(aggregate) and issubclass(aggregate, Aggregate)):
                continue
            for cls in vars(aggregate).values():
                if (
                    inspect.isclass(cls)
                    and issubclass(cls, DomainEvent)
                    and cls.__qualname__.startswith(f"{aggregate.__qualname__}.")
                    and cls.__name__ not in ("Event", "Created")
                ):
                    found[f"{cls.__module__}:{cls.__qualname__}"] = cls
    return list(found.values())


def test_every_domain_event_names_its_actor() -> None:
    classes = domain_event_classes()
    assert len(classes) > 100  # the scan found the domain's events
    missing = [
        c.__qualname__
        for c in classes
        if not is_dataclass(c) or "actor" not in {f.name for f in fields(c)}
    ]
    assert missing == []
