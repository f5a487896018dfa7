"""The message format on the wire: JSON values and string headers, no library objects.

Two kinds of record share a topic, told apart by the `record-kind` header and the value's
`kind` field: events (keyed by aggregate id) and watermarks (no key). The exactly-once
chain links the EVENT records of a partition only: an event's `previous-position` is the
position of the previous event the relay put on that partition (0 for the first);
watermarks stand outside it. README.md "Kafka event format" is the consumer guide.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, Transcoder
from eventsourcing.utils import resolve_topic

from projections.base import EventRecord

# Record kinds: the `record-kind` header and the value's `kind` field.
EVENT_KIND = "event"
WATERMARK_KIND = "watermark"
RECORD_KINDS = (EVENT_KIND, WATERMARK_KIND)

# Header names (values are UTF-8 strings).
RECORD_KIND_HEADER = "record-kind"
EVENT_TYPE_HEADER = "event-type"  # an event's class name; "Watermark" on a watermark
EVENT_VERSION_HEADER = "event-version"  # the event class's version (class_version, else 1)
AGGREGATE_VERSION_HEADER = "aggregate-version"
POSITION_HEADER = "notification-position"
PREVIOUS_POSITION_HEADER = "previous-position"  # events only: the chain
APPLICATION_HEADER = "application"
UP_TO_POSITION_HEADER = "up-to-position"  # watermarks only
LAST_EVENT_HEADER = "last-event-position"  # watermarks only: the partition's newest event
WATERMARK = "Watermark"  # the event-type header of a watermark (what older consumers test)

EVENT_HEADERS = (
    RECORD_KIND_HEADER,
    EVENT_TYPE_HEADER,
    EVENT_VERSION_HEADER,
    AGGREGATE_VERSION_HEADER,
    POSITION_HEADER,
    APPLICATION_HEADER,
    PREVIOUS_POSITION_HEADER,
)
WATERMARK_HEADERS = (
    RECORD_KIND_HEADER,
    EVENT_TYPE_HEADER,
    APPLICATION_HEADER,
    UP_TO_POSITION_HEADER,
    LAST_EVENT_HEADER,
)
# The value's fields, in the order they are written.
EVENT_FIELDS = (
    "kind",
    "application",
    "position",
    "originator_id",
    "originator_version",
    "topic",
    "type",
    "version",
    "timestamp",
    "data",
)
WATERMARK_FIELDS = ("kind", "application", "up_to_position")

# Attributes that describe the stream rather than the change (they have fields of their own).
EVENT_META = frozenset({"originator_id", "originator_version", "originator_topic", "timestamp"})

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class Message:
    """One Kafka record to send: key, JSON value, headers, and the partition chosen for it."""

    key: bytes | None
    value: bytes
    headers: Headers
    partition: int


@dataclass(frozen=True)
class Delivered:
    """A record read back: an event (its position and chain link) or a watermark.

    For a watermark, `position` is its up-to position and `previous` the position of the
    last event the relay had put on the partition before it.
    """

    position: int
    previous: int
    event: EventRecord | None  # None: a watermark


def _plain(value: Any) -> Any:
    """JSON for the few non-JSON values events may hold; anything else is refused."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot put {type(value).__name__} in an event message")


# One encoder for every message: json.dumps with options would build a new one per call.
_ENCODER = json.JSONEncoder(
    default=_plain, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
_TYPED = b'"_type_"'  # how eventsourcing's JSONTranscoder marks a non-JSON value
# Credential hashes (users' passwords, API key secrets) never leave the event store:
# other teams read these topics.
CREDENTIAL_WORDS = ("password", "secret", "token")
REDACTED = "[redacted]"
_GENERAL_PATH_WORDS = (b"NaN", b"Infinity", *(w.encode() for w in CREDENTIAL_WORDS))
_CLASS_VERSION = b'"class_version":'


def dumps(document: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON (strict: NaN and objects refused)."""
    return _ENCODER.encode(document).encode()


# The usual layout of a stored state: the typed timestamp first, then (for a created
# event) the aggregate's topic, then the event's own attributes: the data, verbatim.
_STORED_HEAD = re.compile(
    rb'\{"timestamp":\{"_type_":"datetime_iso","_data_":"([^"\\]*)"\}'
    rb'(?:,"originator_topic":"[^"\\]*")?'
)


def _cut(raw: bytes) -> tuple[bytes, bytes] | None:
    """(ISO timestamp, data JSON) sliced out of a stored state, if it has the usual layout."""
    if raw.count(_TYPED) != 1 or any(word in raw for word in _GENERAL_PATH_WORDS):
        return None  # a typed value, JSON we must refuse, or a credential: the general path
    head = _STORED_HEAD.match(raw)
    if head is None:
        return None
    rest = raw[head.end() :]
    if rest == b"}":
        return head[1], b"{}"
    if not rest.startswith(b",") or b'"originator_topic":' in rest:
        return None
    return head[1], b"{" + rest[1:]


@lru_cache(maxsize=1024)
def event_class(topic: str) -> type | None:
    """The event class a stored topic names (None: not importable here)."""
    try:
        cls = resolve_topic(topic)
    except Exception:  # a class this process cannot import: published as stored
        return None
    return cls if isinstance(cls, type) else None


@lru_cache(maxsize=1024)
def wire_version(topic: str) -> int:
    """The version an event of this topic is published in: its class_version (else 1)."""
    cls = event_class(topic)
    return int(getattr(cls, "class_version", 1)) if cls is not None else 1


@dataclass(frozen=True, slots=True)
class _Form:
    """What every event of one topic shares on the wire, encoded once."""

    kind: str  # the short class name
    version: int
    headers: tuple[bytes, bytes]  # event-type, event-version
    middle: bytes  # the value from `,"topic"` to the timestamp's opening quote
    tail: bytes | None  # how a stored state in this version ends (None: no class_version)

    def is_current(self, raw: bytes) -> bool:
        """Whether stored bytes are in the published version already (no upcast needed)."""
        # The mapper appends class_version last, and only above version 1.
        return _CLASS_VERSION not in raw if self.tail is None else raw.endswith(self.tail)


@lru_cache(maxsize=1024)
def _form(topic: str) -> _Form:
    kind, version = event_type(topic), wire_version(topic)
    middle = b"".join(
        (
            b',"topic":',
            _json_text(topic),
            b',"type":',
            _json_text(kind),
            b',"version":',
            str(version).encode(),
            b',"timestamp":"',
        )
    )
    tail = None if version == 1 else b"," + _CLASS_VERSION + str(version).encode() + b"}"
    return _Form(kind, version, (kind.encode(), str(version).encode()), middle, tail)


def upcast(topic: str, state: dict[str, Any]) -> int:
    """Bring a decoded stored state to its class's version, in place; the version it is in."""
    stored = int(state.pop("class_version", 1))
    cls = event_class(topic)
    version = wire_version(topic)
    if cls is None or stored >= version:
        version = stored  # unknown class, or written by a newer release: as stored
    else:
        for step in range(stored, version):  # the mapper's own upcast chain
            getattr(cls, f"upcast_v{step}_v{step + 1}")(state)
    if version > 1:
        state["class_version"] = version  # where the mapper writes it: data stays alike
    return version


def previous_version(topic: str) -> int | None:
    """The version a migration mirror publishes this event type in: one below its class's,
    when the class says how to go back (`downcast_vN_vM`); None: the type is unchanged."""
    cls, version = event_class(topic), wire_version(topic)
    if cls is None or version < 2 or not hasattr(cls, f"downcast_v{version}_v{version - 1}"):
        return None
    return version - 1


def downcast(topic: str, data: dict[str, Any], version: int) -> int:
    """Take published data one version back, in place (for the migration mirror)."""
    cls = event_class(topic)
    getattr(cls, f"downcast_v{version}_v{version - 1}")(data)
    data.pop("class_version", None)
    if version - 1 > 1:
        data["class_version"] = version - 1
    return version - 1


def event_state(
    notification: Notification, transcoder: Transcoder
) -> tuple[str, dict[str, Any], int]:
    """(ISO timestamp, data, version) of a stored event as published: upcast and redacted."""
    state = transcoder.decode(notification.state)
    version = upcast(notification.topic, state)
    data = {k: v for k, v in state.items() if k not in EVENT_META}
    return state["timestamp"].isoformat(), redacted(data), version


def redacted(value: Any) -> Any:
    """The value with every credential (a key naming a password, secret or token) hidden."""
    if isinstance(value, dict):
        return {
            k: REDACTED if any(w in k.lower() for w in CREDENTIAL_WORDS) else redacted(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redacted(v) for v in value]
    return value


@lru_cache(maxsize=1024)
def event_type(topic: str) -> str:
    """The short class name of an event topic: 'domain.orders:Order.Placed' -> 'Placed'."""
    return topic.rsplit(":", 1)[-1].rsplit(".", 1)[-1]


@lru_cache(maxsize=1024)
def _json_text(text: str) -> bytes:
    return _ENCODER.encode(text).encode()


def encode_event(
    application: str,
    notification: Notification,
    transcoder: Transcoder,
    *,
    partition: int,
    previous: int,
    back: bool = False,
) -> Message:
    """A stored event as a keyed message; `previous`: the partition's previous EVENT.

    `back`: in the previous version of its type when its class can go back (the
    migration mirror, infra.kafka.relay), else as published on the main topic.
    """
    topic = notification.topic
    form = _form(topic)
    originator_id = str(notification.originator_id)
    aggregate_version, position = str(notification.originator_version), str(notification.id)
    raw = notification.state
    back = back and previous_version(topic) is not None
    cut = _cut(raw) if form.is_current(raw) and not back else None
    if cut is None:  # an older stored version (upcast), a typed value or a credential
        timestamp, data, version = event_state(notification, transcoder)
        if back:
            version = downcast(topic, data, version)
        value = dumps(
            {
                "kind": EVENT_KIND,
                "application": application,
                "position": notification.id,
                "originator_id": originator_id,
                "originator_version": notification.originator_version,
                "topic": topic,
                "type": form.kind,
                "version": version,
                "timestamp": timestamp,
                "data": data,
            }
        )
        type_header, version_header = form.headers[0], str(version).encode()
    else:  # the same document, spliced: no parsing, no re-encoding (the relay's hot path)
        value = b"".join(
            (
                b'{"kind":"event","application":',
                _json_text(application),
                b',"position":',
                position.encode(),
                b',"originator_id":"',
                originator_id.encode(),
                b'","originator_version":',
                aggregate_version.encode(),
                form.middle,
                cut[0],
                b'","data":',
                cut[1],
                b"}",
            )
        )
        type_header, version_header = form.headers
    headers = [
        (RECORD_KIND_HEADER, b"event"),
        (EVENT_TYPE_HEADER, type_header),
        (EVENT_VERSION_HEADER, version_header),
        (AGGREGATE_VERSION_HEADER, aggregate_version.encode()),
        (POSITION_HEADER, position.encode()),
        (APPLICATION_HEADER, application.encode()),
        (PREVIOUS_POSITION_HEADER, str(previous).encode()),
    ]
    return Message(originator_id.encode(), value, headers, partition)


def encode_watermark(application: str, position: int, *, partition: int, previous: int) -> Message:
    """'Every event of this partition up to `position` has been sent'.

    `previous` is the position of the last event the relay put on the partition (0: none):
    a consumer may take the watermark only once it has applied that event. The watermark
    itself is no link of the event chain.
    """
    headers = [
        (RECORD_KIND_HEADER, WATERMARK_KIND.encode()),
        (EVENT_TYPE_HEADER, WATERMARK.encode()),
        (APPLICATION_HEADER, application.encode()),
        (UP_TO_POSITION_HEADER, str(position).encode()),
        (LAST_EVENT_HEADER, str(previous).encode()),
    ]
    value = dumps({"kind": WATERMARK_KIND, "application": application, "up_to_position": position})
    return Message(None, value, headers, partition)


def header(headers: Headers | None, name: str) -> str | None:
    """A header's value as text, or None."""
    for key, value in headers or ():
        if key == name:
            return value.decode()
    return None


def record_kind(document: dict[str, Any], headers: Headers | None) -> str | None:
    """'event', 'watermark', or another (future) kind; records from before `kind` too."""
    kind = document.get("kind")
    if kind is not None:
        return str(kind)
    # Written before records had a kind: a watermark said so in its event-type header only.
    return WATERMARK_KIND if header(headers, EVENT_TYPE_HEADER) == WATERMARK else EVENT_KIND


def decode(value: bytes, headers: Headers | None) -> Delivered | None:
    """A record back into what a projection folds, a watermark, or None (a kind unknown here)."""
    document = json.loads(value)
    kind = record_kind(document, headers)
    if kind == WATERMARK_KIND:
        if "up_to_position" in document:
            return Delivered(
                int(document["up_to_position"]), int(header(headers, LAST_EVENT_HEADER) or 0), None
            )
        # The older form: {"application", "position"}, its last event in previous-position.
        previous = int(header(headers, PREVIOUS_POSITION_HEADER) or 0)
        return Delivered(int(document["position"]), previous, None)
    if kind != EVENT_KIND:
        return None
    event = EventRecord(
        position=int(document["position"]),
        originator_id=document["originator_id"],
        version=int(document["originator_version"]),
        type=document["type"],
        timestamp=datetime.fromisoformat(document["timestamp"]),
        data=document["data"],
    )
    return Delivered(event.position, int(header(headers, PREVIOUS_POSITION_HEADER) or 0), event)
