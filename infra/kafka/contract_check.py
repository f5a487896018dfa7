"""Checks Kafka records against the event contract (infra.kafka.contract): value, headers,
key. Used by the contract tests and the validation benchmark; jsonschema is imported only
when a checker is built (it is not needed to serve the document)."""

from __future__ import annotations

import json
import typing
from datetime import datetime
from typing import Any

from infra.kafka.codec import (
    AGGREGATE_VERSION_HEADER,
    APPLICATION_HEADER,
    EVENT_TYPE_HEADER,
    EVENT_VERSION_HEADER,
    POSITION_HEADER,
    RECORD_KIND_HEADER,
    UP_TO_POSITION_HEADER,
    WATERMARK,
    Headers,
)
from infra.kafka.contract import (
    build,
)


class ContractViolation(ValueError):
    """A record that does not match the document (every problem found, in one message)."""


Check = typing.Callable[[Any], list[str]]


def _is_datetime(value: object) -> bool:
    """ISO-8601 with a date, a time and an offset (what the codec writes)."""
    if not isinstance(value, str):
        return True
    parsed = datetime.fromisoformat(value)  # ValueError: not a date-time
    return "T" in value and parsed.tzinfo is not None


def compiler(engine: str) -> typing.Callable[[dict[str, Any]], Check]:
    """Schema -> problems of a value, by `jsonschema` (pure Python) or `jsonschema_rs` (Rust)."""
    if engine == "jsonschema_rs":
        import jsonschema_rs

        def rust(schema: dict[str, Any]) -> Check:
            validator = jsonschema_rs.Draft7Validator(schema, validate_formats=True)
            return lambda v: (
                [] if validator.is_valid(v) else [e.message for e in validator.iter_errors(v)]
            )

        return rust
    import jsonschema

    formats = jsonschema.FormatChecker()
    formats.checks("date-time", raises=ValueError)(_is_datetime)

    def python(schema: dict[str, Any]) -> Check:
        validator = jsonschema.Draft7Validator(schema, format_checker=formats)
        return lambda v: (
            [] if validator.is_valid(v) else [e.message for e in validator.iter_errors(v)]
        )

    return python


class RecordChecker:
    """Checks Kafka records (key, value, headers) against the document's messages."""

    def __init__(self, document: dict[str, Any] | None = None, engine: str = "jsonschema"):
        document = build() if document is None else document
        compile_ = compiler(engine)
        self.events: dict[tuple[str, str], tuple[Check, Check]] = {}
        for application, channel in document["channels"].items():
            for ref in channel["messages"].values():
                message = _inline(ref, document)
                if message["name"] != WATERMARK:
                    topic = message["payload"]["allOf"][1]["properties"]["topic"]["const"]
                    checks = (compile_(message["payload"]), compile_(message["headers"]))
                    self.events[application, topic] = checks
        mark = _inline(document["components"]["messages"][WATERMARK], document)
        self.watermark = (compile_(mark["payload"]), compile_(mark["headers"]))

    def check(
        self, application: str, key: bytes | None, value: bytes, headers: Headers
    ) -> dict[str, Any]:
        """The record's value, decoded; ContractViolation names what does not match."""
        document = json.loads(value)
        named: dict[str, str] = {}
        problems = []
        for name, raw in headers or ():
            if name in named:
                problems.append(f"header {name} twice")
            named[name] = raw.decode()
        if not isinstance(document, dict):
            raise ContractViolation(f"{application}: the value is not an object")
        if document.get("kind") == "watermark" or named.get(RECORD_KIND_HEADER) == "watermark":
            payload, head = self.watermark
            if key is not None:
                problems.append("a watermark has a key")
            if named.get(UP_TO_POSITION_HEADER) != str(document.get("up_to_position")):
                problems.append(f"{UP_TO_POSITION_HEADER} header differs from the value")
        else:
            found = self.events.get((application, str(document.get("topic"))))
            if found is None:
                raise ContractViolation(f"{application}: no message for {document.get('topic')!r}")
            payload, head = found
            problems += _agree(key, document, named)
        problems += payload(document) + [f"header: {p}" for p in head(named)]
        if problems:
            raise ContractViolation(f"{application} {document.get('topic')}: {'; '.join(problems)}")
        return document


def _agree(key: bytes | None, document: dict[str, Any], named: dict[str, str]) -> list[str]:
    """Where an event's key and headers repeat its value, they must say the same."""
    same = {
        EVENT_TYPE_HEADER: document.get("type"),
        EVENT_VERSION_HEADER: document.get("version"),
        AGGREGATE_VERSION_HEADER: document.get("originator_version"),
        POSITION_HEADER: document.get("position"),
        APPLICATION_HEADER: document.get("application"),
    }
    problems = [
        f"header {h} differs from the value" for h, v in same.items() if named.get(h) != str(v)
    ]
    if key is None or key.decode() != document.get("originator_id"):
        problems.append("the key is not the originator id")
    return problems


def _inline(node: Any, document: dict[str, Any]) -> Any:
    """The node with every local $ref (`#/a/b`) replaced by what it names."""
    if isinstance(node, list):
        return [_inline(item, document) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return _inline(target, document)  # Draft 7 ignores a $ref's siblings: so do we
    return {key: _inline(value, document) for key, value in node.items()}
