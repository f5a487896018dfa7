"""Story: another team reads the AsyncAPI document instead of our code, and can trust it.

The document is generated from the event classes: every aggregate of the domain belongs
to one application's topic, every field that looks personal was classified, money is
never a JSON number, the committed copy is what the code generates, and the checker it
feeds refuses records that break it.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
import yaml
from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic, resolve_topic
from fastapi import FastAPI
from fastapi.testclient import TestClient

import application
import domain
from api.routers import event_contract
from application.base import FabApplication
from infra.kafka.contract import (
    PERSONAL_DATA,
    SAVES,
    build,
    event_classes,
    event_fields,
    events_of,
    is_credential,
    qualified,
    render,
    type_schema,
)
from infra.kafka.contract_check import ContractViolation, RecordChecker
from workers.relay import APPS

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "docs" / "asyncapi.yaml"
REGENERATE = "python -m infra.kafka.contract > docs/asyncapi.yaml"
# Field names that suggest personal data: each such field needs a decision in PERSONAL_DATA.
LOOKS_PERSONAL = re.compile(
    r"email|name|address|phone|mobile|gstin|birth|street|city|zip|pincode|note|message|subject"
)
MONEY = re.compile(r"amount|price|total|paise|discount|cost|fee")


def domain_aggregates() -> set[type[Aggregate]]:
    """Every Aggregate subclass defined in the domain package."""
    found = set()
    for info in pkgutil.walk_packages(domain.__path__, "domain."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, Aggregate)
                and value.__module__ == module.__name__
            ):
                found.add(value)
    return found


def application_names() -> set[str]:
    """The `name` of every FabApplication subclass in the application package."""
    names = set()
    for info in pkgutil.walk_packages(application.__path__, "application."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, FabApplication)
                and value is not FabApplication
            ):
                names.add(value.name)
    return names


def all_events() -> Iterator[type]:
    for app in SAVES:
        yield from events_of(app)


def schemas(node: Any, name: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every (property name, schema) pair anywhere in the document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("properties", "patternProperties") and isinstance(value, dict):
                for prop, schema in value.items():
                    yield prop, schema
                    yield from schemas(schema, prop)
            else:
                yield from schemas(value, name)
    elif isinstance(node, list):
        for item in node:
            yield from schemas(item, name)


def test_every_domain_aggregate_is_published_on_exactly_one_topic() -> None:
    listed = [resolve_topic(topic) for topics in SAVES.values() for topic in topics]
    assert len(listed) == len(set(listed)), "an aggregate is listed under two applications"
    missing = {get_topic(a) for a in domain_aggregates()} - {get_topic(a) for a in listed}
    assert not missing, f"aggregates no application lists in contract.SAVES: {missing}"


def test_every_application_is_a_channel_and_the_relay_publishes_each() -> None:
    assert set(SAVES) == application_names()
    assert set(SAVES) == set(APPS)
    document = build()
    assert {c["address"] for c in document["channels"].values()} == {
        f"fabledger.{name}" for name in SAVES
    }


def test_the_created_event_eventsourcing_defines_unused_is_left_out() -> None:
    order = resolve_topic("domain.orders:Order")
    names = {cls.__name__ for cls in event_classes(order)}
    assert "Placed" in names and "Created" not in names and "Event" not in names
    organization = resolve_topic("domain.organizations:Organization")
    assert "Created" in {cls.__name__ for cls in event_classes(organization)}


def test_every_field_that_looks_personal_was_classified() -> None:
    undecided = [
        qualified(cls, field)
        for cls in all_events()
        for field in event_fields(cls)
        if LOOKS_PERSONAL.search(field)
        and not is_credential(field)
        and PERSONAL_DATA.get(qualified(cls, field), PERSONAL_DATA.get(field)) is None
    ]
    assert not undecided, f"classify in contract.PERSONAL_DATA: {undecided}"


def test_every_classification_names_a_real_field() -> None:
    fields = {f for cls in all_events() for f in event_fields(cls)}
    qualified_fields = {qualified(cls, f) for cls in all_events() for f in event_fields(cls)}
    stale = [k for k in PERSONAL_DATA if k not in fields and k not in qualified_fields]
    assert not stale, f"PERSONAL_DATA entries of no event field: {stale}"


def test_personal_fields_are_marked_and_others_are_not() -> None:
    data = build()["components"]["messages"]["Order.Placed"]["payload"]["allOf"][1]
    fields = data["properties"]["data"]["properties"]
    assert fields["customer_email"]["x-personal-data"] is True
    assert fields["shipping_address"]["x-personal-data"] is True
    assert "x-personal-data" not in fields["material"]
    assert "x-personal-data" not in fields["customer_id"]  # decided: a pseudonymous id


def test_money_is_never_a_json_number() -> None:
    for name, schema in schemas(build()):
        types = schema.get("type", [])
        types = [types] if isinstance(types, str) else types
        if name.endswith("_paise"):
            assert types == ["integer"] or name == "_paise$", (name, schema)
        if MONEY.search(name):
            assert "number" not in types, (name, schema)


def test_every_event_has_an_actor_and_a_version() -> None:
    messages = build()["components"]["messages"]
    for cls in all_events():
        payload = messages[qualified(cls)]["payload"]["allOf"][1]["properties"]
        assert "actor" in payload["data"]["required"], qualified(cls)
        assert payload["version"]["const"] == getattr(cls, "class_version", 1)
    meter = messages["Meter.UsageRecorded"]["payload"]["allOf"][1]["properties"]["data"]
    assert "actor" in meter["properties"]  # the calling key: "key:<key id>"


def test_credentials_are_published_redacted_only() -> None:
    data = build()["components"]["messages"]["User.Registered"]["payload"]["allOf"][1]
    assert data["properties"]["data"]["properties"]["password_hash"] == {
        "$ref": "#/components/schemas/Redacted"
    }


def test_field_types_map_to_json_schema() -> None:
    assert type_schema(str | None) == {"type": ["string", "null"]}
    assert type_schema(Decimal)["type"] == "string"
    assert type_schema(UUID) == {"type": "string", "format": "uuid"}
    assert type_schema(datetime) == {"type": "string", "format": "date-time"}
    assert type_schema(dict[str, int]) == {
        "type": "object",
        "additionalProperties": {"type": "integer"},
    }
    assert type_schema(list[str]) == {"type": "array", "items": {"type": "string"}}
    with pytest.raises(TypeError, match="no JSON Schema"):
        type_schema(complex)


def test_every_reference_resolves_and_operations_use_their_channels_messages() -> None:
    document = build()
    text = json.dumps(document)
    for ref in set(re.findall(r'"\$ref": "#/([^"]+)"', text)):
        node: Any = document
        for part in ref.split("/"):
            assert part in node, ref
            node = node[part]
    for name, operation in document["operations"].items():
        channel = operation["channel"]["$ref"]
        assert all(m["$ref"].startswith(channel + "/messages/") for m in operation["messages"])
        assert name.split(".")[0] == channel.rsplit("/", 1)[-1]


def test_the_committed_document_is_what_the_code_generates() -> None:
    assert COMMITTED.read_text() == render(), f"docs/asyncapi.yaml is stale: run `{REGENERATE}`"


def test_the_yaml_reads_back_as_the_document() -> None:
    document = build()
    assert yaml.safe_load(render(document)) == document
    tricky = {"yes": ["no", "on", "1", "", "a: b", "#x", "[x]", "line\nline\n", "x\ny", None]}
    assert yaml.safe_load(render(tricky)) == tricky


def test_the_api_serves_the_document_as_yaml() -> None:
    app = FastAPI()
    app.include_router(event_contract.router)
    response = TestClient(app).get("/asyncapi.yaml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/yaml")
    assert response.text == COMMITTED.read_text()


# --- the checker: what the relay must produce ------------------------------------------


def status_changed(**overrides: Any) -> tuple[bytes | None, dict[str, Any], dict[str, str]]:
    """A valid StatusChanged record of the ordering topic (key, value, headers)."""
    order_id = str(uuid4())
    value: dict[str, Any] = {
        "kind": "event",
        "application": "ordering",
        "position": 42,
        "originator_id": order_id,
        "originator_version": 3,
        "topic": "domain.orders:Order.StatusChanged",
        "type": "StatusChanged",
        "version": 1,
        "timestamp": "2026-11-21T10:30:00.123456+00:00",
        "data": {"from_status": "confirmed", "to_status": "printing", "actor": "staff:x"},
    }
    value.update(overrides)
    headers = {
        "record-kind": "event",
        "event-type": "StatusChanged",
        "event-version": "1",
        "aggregate-version": "3",
        "notification-position": "42",
        "application": "ordering",
        "previous-position": "17",
    }
    return order_id.encode(), value, headers


def check(checker: RecordChecker, key: bytes | None, value: Any, headers: dict[str, str]) -> Any:
    raw = [(name, text.encode()) for name, text in headers.items()]
    return checker.check("ordering", key, json.dumps(value).encode(), raw)


@pytest.fixture(scope="module", params=["jsonschema", "jsonschema_rs"])
def checker(request: pytest.FixtureRequest) -> RecordChecker:
    return RecordChecker(engine=request.param)


def test_a_record_as_specified_passes(checker: RecordChecker) -> None:
    key, value, headers = status_changed()
    assert check(checker, key, value, headers) == value
    mark = {"kind": "watermark", "application": "ordering", "up_to_position": 42}
    mark_headers = {
        "record-kind": "watermark",
        "event-type": "Watermark",
        "application": "ordering",
        "up-to-position": "42",
        "last-event-position": "40",
    }
    assert check(checker, None, mark, mark_headers) == mark


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda k, v, h: v["data"].pop("actor"), "actor"),
        (lambda k, v, h: v["data"].update(extra=1), "extra"),
        (lambda k, v, h: v.update(version=2), "event-version"),
        (lambda k, v, h: v.pop("kind"), "kind"),
        (lambda k, v, h: v.update(timestamp="yesterday"), "yesterday"),
        (lambda k, v, h: h.pop("previous-position"), "previous-position"),
        (lambda k, v, h: h.update({"aggregate-version": "4"}), "aggregate-version"),
        (lambda k, v, h: v.update(topic="domain.orders:Order.Vanished"), "Vanished"),
    ],
)
def test_a_record_off_the_contract_is_refused(
    checker: RecordChecker, change: Any, problem: str
) -> None:
    key, value, headers = status_changed()
    change(key, value, headers)
    with pytest.raises(ContractViolation, match=problem):
        check(checker, key, value, headers)


def test_money_as_a_number_and_a_wrong_key_are_refused(checker: RecordChecker) -> None:
    key, value, headers = status_changed(
        topic="domain.orders:Order.PaymentConfirmed", type="PaymentConfirmed", version=2
    )
    value["data"] = {"method": "upi", "reference": "r", "amount_paise": 53.04, "actor": "a"}
    headers.update({"event-type": "PaymentConfirmed", "event-version": "2"})
    with pytest.raises(ContractViolation, match=r"53\.04"):
        check(checker, key, value, headers)
    value["data"]["amount_paise"] = 5304
    assert check(checker, key, value, headers) == value
    with pytest.raises(ContractViolation, match="key"):
        check(checker, str(uuid4()).encode(), value, headers)


def test_a_watermark_as_the_relay_sent_it_before_issue_15_is_refused(
    checker: RecordChecker,
) -> None:
    old = {"application": "ordering", "position": 42}  # no kind, `position` as events have
    headers = {"event-type": "Watermark", "notification-position": "42", "application": "ordering"}
    with pytest.raises(ContractViolation):
        check(checker, None, old, headers)
