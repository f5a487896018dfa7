"""The event stream's public contract: an AsyncAPI 3 document generated from the code.

One channel per application (topic `fabledger.<name>`), one message per event class of the
aggregates the application saves (plus the watermark), each with JSON Schemas of its value,
headers and key. Regenerate the committed copy with
`python -m infra.kafka.contract > docs/asyncapi.yaml` (a test fails when it drifts).
"""

from __future__ import annotations

import sys
import types
import typing
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import yaml
from eventsourcing.domain import Aggregate, CanInitAggregate, _created_event_classes
from eventsourcing.utils import get_topic, resolve_topic

from infra.kafka.codec import (
    AGGREGATE_VERSION_HEADER,
    APPLICATION_HEADER,
    CREDENTIAL_WORDS,
    EVENT_META,
    EVENT_TYPE_HEADER,
    EVENT_VERSION_HEADER,
    LAST_EVENT_HEADER,
    POSITION_HEADER,
    PREVIOUS_POSITION_HEADER,
    RECORD_KIND_HEADER,
    REDACTED,
    UP_TO_POSITION_HEADER,
    WATERMARK,
)
from infra.kafka.config import topic_for

ASYNCAPI = "3.0.0"
CONTRACT_VERSION = "1.0.0"  # of the document's layout; each event type has its own version
KAFKA_BINDING = "0.5.0"

# Every application (its `name`, one topic each) with the aggregates it saves, in
# Container.applications() order; tests fail when an application or an aggregate is missing
# here, or when the suite records an event of an application that is not listed under it.
SAVES: dict[str, tuple[str, ...]] = {
    "identity": (
        "domain.users:User",
        "domain.email_claims:EmailClaim",
        "domain.access_tokens:AccessToken",
        "domain.addresses:AddressBook",
        "domain.staff:AdminGuard",
    ),
    "catalog": (
        "domain.material_records:MaterialRecord",
        "domain.pricing_settings:PricingSettings",
        "domain.fleet.categories:Category",
        "domain.catalog_models:CatalogModel",
        "domain.catalog_slugs:SlugClaim",
        "domain.model_media:ModelLike",
        "domain.promos:Promo",
    ),
    "ordering": ("domain.orders:Order", "domain.coupons:Coupon"),
    "shipping": ("domain.fleet.shipping_partners:ShippingPartner",),
    "fleet": ("domain.fleet.printers:Printer",),
    "developer": (
        "domain.organizations:Organization",
        "domain.api_keys:ApiKey",
        "domain.meters:Meter",
    ),
    "shop": ("domain.shop.settings:ShopSettings",),
    "payments": (
        "domain.payments:Payment",
        "domain.invoice_numbers:InvoiceSeries",
        "domain.payments:UtrClaim",
        "domain.payments:ProviderEventHandled",
    ),
    "support": ("domain.inquiries:Inquiry", "domain.contact_limits:ContactLog"),
    "slicing": ("domain.slice_jobs:SliceJob",),
}

# Personal data (x-personal-data: true): what a consumer must erase when a person asks.
# Keys are "Aggregate.Event.field" (that field only) or "field" (in every event). False marks
# a name that looks personal but is not. Decided: ids (customer_id, user_id, ...) are
# pseudonymous references, not personal data themselves (erasing the person erases what they
# point at); free text written by or about a customer is personal (it quotes names and
# phone numbers); a buyer's GSTIN is personal (a sole proprietor's GSTIN embeds their PAN):
# it travels inside the invoice details, marked whole; the shop's own settings (seller
# name, address, GSTIN) are the business's published data, not personal.
PERSONAL_DATA: dict[str, bool] = {
    "email": True,
    "customer_email": True,
    "new_email": True,
    "username": True,
    "display_name": True,
    "shipping_address": True,
    "customer_notes": True,
    "User.EmailChanged.previous": True,  # the old e-mail address
    "AddressBook.AddressAdded.fields": True,  # name, phone, street, city, PIN
    "AddressBook.AddressReplaced.fields": True,
    "AddressBook.AddressReplaced.previous": True,
    "Order.NoteAdded.text": True,
    "Inquiry.Submitted.subject": True,
    "Inquiry.Submitted.message": True,
    "Inquiry.Replied.message": True,
    "Payment.InvoiceIssued.details": True,  # the buyer's name, address and GSTIN
    "address_id": False,
    "note_id": False,
    "AccessToken.Issued.name": False,  # a label an admin gives a token
    "ApiKey.Issued.name": False,  # a label a developer gives a key
    "Organization.Created.name": False,  # a business's name (decided: orgs are businesses)
    "SliceJob.Requested.model_filename": False,
    "SliceJob.Failed.message": False,  # the slicer's error text
}

_CREDENTIAL = "|".join(CREDENTIAL_WORDS)
# A free-form object (dict[str, Any]): its money lines and credentials still follow the rules.
_FREE_OBJECT: dict[str, Any] = {
    "type": "object",
    "patternProperties": {
        "_paise$": {"type": "integer"},
        _CREDENTIAL: {"$ref": "#/components/schemas/Redacted"},
    },
}

GUIDE = """\
fabledger publishes every stored event of each application (bounded context) to the topic
`fabledger.<application>`, at least once and in order per aggregate: the record key is the
aggregate id, so one aggregate's events stay in one partition in version order.

Two kinds of record share a topic: events and watermarks. Both say which they are in the
`record-kind` header and the value's `kind` field. A watermark (no key) tells a consumer
that every event of its partition up to `up_to_position` was sent before it.

Reading exactly once: per partition keep the last applied event position L (0 at first).
Skip watermarks for this rule. For an event, skip it when its `notification-position` is at
most L (a copy sent again); apply it when its `previous-position` equals L, then set L to
its position; otherwise (its predecessor is missing) stop applying that partition and read
on: the relay sends the missing batch again, whole.

Dispatch on the value's `topic` (unique per event class); `type` alone repeats across
aggregates. Each event type has a `version`: additive changes keep it (consumers must ignore
fields they do not know); a breaking change is a new version. During a migration the relay
also publishes `<topic>.previous`: the same records with the changed types one version back.

Money is integer paise (`*_paise`) or a decimal string, never a JSON number. Credentials
(names containing password, secret or token) read "[redacted]". Fields marked
`x-personal-data: true` hold personal data: erase them on a person's request.
"""


def event_classes(aggregate: type[Aggregate]) -> list[type[Aggregate.Event]]:
    """The event classes an aggregate records: its nested events and its one created event."""
    # eventsourcing defines a `Created` on every aggregate; only the one its __init__ uses
    # (kept in _created_event_classes, eventsourcing is pinned) is ever stored.
    created = set(_created_event_classes.get(aggregate, ()))
    found = []
    for value in vars(aggregate).values():
        if not isinstance(value, type) or not issubclass(value, aggregate.Event):
            continue
        if value is aggregate.Event or (
            issubclass(value, CanInitAggregate) and value not in created
        ):
            continue
        found.append(value)
    return found


def event_fields(cls: type) -> dict[str, Any]:
    """An event class's own attributes and their annotations (stream metadata left out)."""
    hints = typing.get_type_hints(cls)
    return {
        name: hint
        for name, hint in hints.items()
        if name not in EVENT_META
        and name != "originator_id_type"
        and typing.get_origin(hint) is not typing.ClassVar
    }


def qualified(cls: type, field: str = "") -> str:
    """'Order.Placed' or 'Order.Placed.customer_email': keys of the messages and PERSONAL_DATA."""
    return f"{cls.__qualname__}.{field}" if field else cls.__qualname__


def is_credential(field: str) -> bool:
    """The codec publishes such a field as "[redacted]"."""
    return any(word in field.lower() for word in CREDENTIAL_WORDS)


def is_personal(cls: type, field: str) -> bool | None:
    """The PERSONAL_DATA decision for a field, None when it has none."""
    return PERSONAL_DATA.get(qualified(cls, field), PERSONAL_DATA.get(field))


def type_schema(hint: Any) -> dict[str, Any]:
    """The JSON Schema of a value annotated `hint`, as the codec writes it."""
    if hint is Any:
        return {}
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        schema = type_schema(next(a for a in args if a is not type(None)))
        if type(None) in args and len(args) == 2 and "type" in schema:
            return {**schema, "type": [schema["type"], "null"]}
        return {"anyOf": [type_schema(a) for a in args]}
    if origin is typing.Literal:
        return {"enum": list(args)}
    if hint in _SCALARS:
        return dict(_SCALARS[hint])
    if hint is dict or origin in (dict, Mapping):
        value = args[1] if len(args) == 2 else Any
        if value is Any:
            return dict(_FREE_OBJECT)
        return {"type": "object", "additionalProperties": type_schema(value)}
    if origin in (list, tuple, set, frozenset) or hint in (list, tuple, set, frozenset):
        item = args[0] if args else Any
        return {"type": "array", "items": type_schema(item)}
    raise TypeError(f"no JSON Schema for {hint!r}: teach infra.kafka.contract.type_schema")


_SCALARS: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    bool: {"type": "boolean"},
    int: {"type": "integer"},
    float: {"type": "number"},
    Decimal: {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"},
    UUID: {"type": "string", "format": "uuid"},
    datetime: {"type": "string", "format": "date-time"},
    date: {"type": "string", "format": "date"},
}


def data_schema(cls: type) -> dict[str, Any]:
    """The schema of an event's `data`: its fields, credentials redacted, always an actor."""
    properties: dict[str, Any] = {}
    for field, hint in event_fields(cls).items():
        if is_credential(field):
            properties[field] = {"$ref": f"{SCHEMAS}Redacted"}
            continue
        schema: dict[str, Any] = (
            {"$ref": f"{SCHEMAS}Actor"} if field == "actor" else type_schema(hint)
        )
        if is_personal(cls, field):
            schema["x-personal-data"] = True
        properties[field] = schema
    properties.setdefault("actor", {"$ref": f"{SCHEMAS}Actor"})
    required = list(properties)
    version = event_version(cls)
    if version > 1:  # the store's own mark of the stored form, repeated in the envelope
        properties["class_version"] = {
            "const": version,
            "description": "The same as the envelope's `version` (kept for older consumers).",
        }
    return {
        "type": "object",
        "required": required,
        "additionalProperties": False,
        "properties": properties,
    }


def event_version(cls: type) -> int:
    """The version an event class publishes (its class_version, 1 when it has none)."""
    return int(getattr(cls, "class_version", 1))


def _event_message(application: str, cls: type) -> dict[str, Any]:
    topic, kind, version = get_topic(cls), cls.__name__, event_version(cls)
    message: dict[str, Any] = {"name": kind, "title": qualified(cls), "summary": topic}
    for base in cls.__mro__:  # the docstring written in the domain, not dataclass's signature
        doc = base.__dict__.get("__doc__") or ""
        if base.__module__ == cls.__module__ and doc and not doc.startswith(f"{base.__name__}("):
            message["description"] = doc.strip().splitlines()[0]
            break
    headers = {
        EVENT_TYPE_HEADER: {"const": kind},
        EVENT_VERSION_HEADER: {"const": str(version)},
        APPLICATION_HEADER: {"const": application},
    }
    payload = {
        "application": {"const": application},
        "topic": {"const": topic},
        "type": {"const": kind},
        "version": {"const": version},
        "data": data_schema(cls),
    }
    return {
        **message,
        "headers": {"allOf": [{"$ref": f"{SCHEMAS}EventHeaders"}, {"properties": headers}]},
        "payload": {"allOf": [{"$ref": f"{SCHEMAS}EventEnvelope"}, {"properties": payload}]},
        "bindings": {"kafka": {"key": {"$ref": f"{SCHEMAS}AggregateId"}, **_BINDING}},
    }


SCHEMAS = "#/components/schemas/"
_BINDING = {"bindingVersion": KAFKA_BINDING}
_STRING: dict[str, Any] = {"type": "string"}
_TEXT_NUMBER: dict[str, Any] = {"type": "string", "pattern": "^(0|[1-9][0-9]*)$"}


def _objects(required: dict[str, Any], *, closed: bool = True) -> dict[str, Any]:
    schema = {"type": "object", "required": list(required), "properties": required}
    return {**schema, "additionalProperties": False} if closed else schema


# Shared by the messages (component schemas): each message narrows them with consts.
COMPONENT_SCHEMAS: dict[str, Any] = {
    "EventEnvelope": _objects(
        {
            "kind": {"const": "event"},
            "application": _STRING,
            "position": {"type": "integer", "minimum": 1},
            "originator_id": {"type": "string", "format": "uuid"},
            "originator_version": {"type": "integer", "minimum": 1},
            "topic": _STRING,
            "type": _STRING,
            "version": {"type": "integer", "minimum": 1},
            "timestamp": {"type": "string", "format": "date-time"},
            "data": {"type": "object"},
        }
    ),
    # Headers are open: brokers and tracing may add their own.
    "EventHeaders": _objects(
        {
            RECORD_KIND_HEADER: {"const": "event"},
            EVENT_TYPE_HEADER: _STRING,
            EVENT_VERSION_HEADER: _TEXT_NUMBER,
            AGGREGATE_VERSION_HEADER: _TEXT_NUMBER,
            POSITION_HEADER: _TEXT_NUMBER,
            APPLICATION_HEADER: _STRING,
            PREVIOUS_POSITION_HEADER: _TEXT_NUMBER,
        },
        closed=False,
    ),
    "WatermarkEnvelope": _objects(
        {
            "kind": {"const": "watermark"},
            "application": _STRING,
            "up_to_position": {"type": "integer", "minimum": 0},
        }
    ),
    "WatermarkHeaders": _objects(
        {
            RECORD_KIND_HEADER: {"const": "watermark"},
            EVENT_TYPE_HEADER: {"const": WATERMARK},
            APPLICATION_HEADER: _STRING,
            UP_TO_POSITION_HEADER: _TEXT_NUMBER,
            LAST_EVENT_HEADER: _TEXT_NUMBER,
        },
        closed=False,
    ),
    "AggregateId": {"type": "string", "format": "uuid", "description": "UTF-8 bytes."},
    "Actor": {
        "type": "string",
        "minLength": 1,
        "description": "Who made the change: a user's id, `staff:<id>`, or a system actor"
        " named as such (`system:<part>`, e.g. `system:metering`).",
    },
    "Redacted": {"const": REDACTED, "description": "A credential: never published."},
}


def watermark_message() -> dict[str, Any]:
    """The control record closing each relayed batch on every partition."""
    return {
        "name": WATERMARK,
        "title": WATERMARK,
        "summary": "Every event of this partition up to up_to_position was sent before me.",
        "description": "Not an event: no key, outside the previous-position chain.",
        "headers": {"$ref": f"{SCHEMAS}WatermarkHeaders"},
        "payload": {"$ref": f"{SCHEMAS}WatermarkEnvelope"},
        "bindings": {"kafka": {"key": {"type": "null"}, **_BINDING}},
    }


def events_of(application: str) -> Iterator[type]:
    """Every event class an application's log may hold."""
    for topic in SAVES[application]:
        yield from event_classes(resolve_topic(topic))


def build() -> dict[str, Any]:
    """The AsyncAPI 3 document of every topic and message."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {WATERMARK: watermark_message()}
    for application in SAVES:
        refs = {}
        for cls in events_of(application):
            messages[qualified(cls)] = _event_message(application, cls)
            refs[qualified(cls)] = {"$ref": f"#/components/messages/{qualified(cls)}"}
        refs[WATERMARK] = {"$ref": f"#/components/messages/{WATERMARK}"}
        channels[application] = {
            "address": topic_for(application),
            "title": f"The {application} log",
            "description": f"Every event of the {application} application, keyed by its"
            " aggregate's id, and the watermarks closing each relayed batch.",
            "messages": refs,
        }
        operations[f"{application}.publish"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{application}"},
            "summary": f"The relay publishes the {application} log.",
            "messages": [{"$ref": f"#/channels/{application}/messages/{m}"} for m in refs],
        }
    return {
        "asyncapi": ASYNCAPI,
        "info": {"title": "fabledger events", "version": CONTRACT_VERSION, "description": GUIDE},
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"schemas": COMPONENT_SCHEMAS, "messages": messages},
    }


def render(document: dict[str, Any] | None = None) -> str:
    """The document as YAML (block style, keys in the document's order)."""
    document = build() if document is None else document
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


if __name__ == "__main__":
    sys.stdout.write(render())
