"""The message format on the wire: JSON values and string headers, no library objects."""

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

from projections.base import EventRecord

WATERMARK = "Watermark"
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
    """A record read back: its position, the previous one in its partition, and the event."""

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


def event_state(notification: Notification, transcoder: Transcoder) -> tuple[str, dict[str, Any]]:
    """(ISO timestamp, data) of a stored event, as the message carries them."""
    state = transcoder.decode(notification.state)
    data = {k: v for k, v in state.items() if k not in EVENT_META}
    return state["timestamp"].isoformat(), redacted(data)


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
) -> Message:
    """A stored event as a keyed message; `previous` chains it to its partition's last one."""
    topic = notification.topic
    kind = event_type(topic)
    originator_id = str(notification.originator_id)
    version, position = str(notification.originator_version), str(notification.id)
    cut = _cut(notification.state)
    if cut is None:
        timestamp, data = event_state(notification, transcoder)
        value = dumps(
            {
                "application": application,
                "position": notification.id,
                "originator_id": originator_id,
                "originator_version": notification.originator_version,
                "topic": topic,
                "type": kind,
                "timestamp": timestamp,
                "data": data,
            }
        )
    else:  # the same document, spliced: no parsing, no re-encoding (the relay's hot path)
        value = b"".join(
            (
                b'{"application":',
                _json_text(application),
                b',"position":',
                position.encode(),
                b',"originator_id":"',
                originator_id.encode(),
                b'","originator_version":',
                version.encode(),
                b',"topic":',
                _json_text(topic),
                b',"type":',
                _json_text(kind),
                b',"timestamp":"',
                cut[0],
                b'","data":',
                cut[1],
                b"}",
            )
        )
    headers = [
        ("event-type", kind.encode()),
        ("aggregate-version", version.encode()),
        ("notification-position", position.encode()),
        ("application", application.encode()),
        ("previous-position", str(previous).encode()),
    ]
    return Message(originator_id.encode(), value, headers, partition)


def encode_watermark(application: str, position: int, *, partition: int, previous: int) -> Message:
    """'Every event of this partition up to `position` is before me'."""
    headers = [
        ("event-type", WATERMARK.encode()),
        ("notification-position", str(position).encode()),
        ("application", application.encode()),
        ("previous-position", str(previous).encode()),
    ]
    value = dumps({"application": application, "position": position})
    return Message(None, value, headers, partition)


def header(headers: Headers | None, name: str) -> str | None:
    """A header's value as text, or None."""
    for key, value in headers or ():
        if key == name:
            return value.decode()
    return None


def decode(value: bytes, headers: Headers | None) -> Delivered:
    """A record back into what a projection folds (or a watermark)."""
    document = json.loads(value)
    previous = int(header(headers, "previous-position") or 0)
    if header(headers, "event-type") == WATERMARK:
        return Delivered(int(document["position"]), previous, None)
    event = EventRecord(
        position=int(document["position"]),
        originator_id=document["originator_id"],
        version=int(document["originator_version"]),
        type=document["type"],
        timestamp=datetime.fromisoformat(document["timestamp"]),
        data=document["data"],
    )
    return Delivered(event.position, previous, event)
