"""Story: another team's consumer, written from the README alone, ends with the database's state.

`examples/kafka_consumer.py` (kafka-python, no fabledger code) reads the ordering and
developer topics after a small end-to-end run: orders through their lifecycle, metered API
calls, and one relay batch that lost a record and was sent again whole (a gap, then
duplicates). Run twice, as a process that stops and resumes from its saved state, it
applies every event exactly once: each aggregate's version equals the event store's, and
every usage event names its API key as actor.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import uuid4

import pytest
from kafka.errors import KafkaError

from application.developer import DeveloperApp
from application.ordering import OrderingApp
from domain.plans import ANALYZE
from infra.kafka.codec import encode_event, encode_watermark
from infra.kafka.config import ensure_topic, new_producer
from infra.kafka.relay import PublishFailed, Relay
from infra.views_db import SQLiteViewDatabase
from tests.support.kafka import TansuBroker, WrappedProducer
from tests.support.order_stream import write_orders

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "kafka_consumer.py"
PARTITIONS = 3


def reference() -> ModuleType:
    """The example module, loaded from its file as a foreign team's code would be."""
    spec = importlib.util.spec_from_file_location("reference_kafka_consumer", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


def test_the_reference_consumer_imports_no_fabledger_code() -> None:
    source = EXAMPLE.read_text()
    ours = ("domain", "application", "projections", "api", "workers", "infra", "tests")
    for package in ours:
        assert f"from {package}" not in source and f"import {package}" not in source


def event(position: int, previous: int, version: int = 1, key: str = "a") -> tuple[Any, ...]:
    """(headers, value) of an event record as the README documents it."""
    headers = [
        ("record-kind", b"event"),
        ("notification-position", str(position).encode()),
        ("previous-position", str(previous).encode()),
    ]
    value = {
        "kind": "event",
        "application": "ordering",
        "position": position,
        "originator_id": key,
        "originator_version": version,
        "type": "Changed",
        "version": 1,
        "data": {"n": position},
    }
    return headers, json.dumps(value).encode()


def test_duplicates_and_events_after_a_gap_are_dropped_and_the_resend_applies() -> None:
    consumer = reference().ExactlyOnce()
    first, second, third = event(3, 0, 1), event(7, 3, 2), event(9, 7, 3)
    mark = encode_watermark("ordering", 9, partition=0, previous=9)
    sent = [first, third, (mark.headers, mark.value), first, second, third, second]
    outcomes = [consumer.handle("t", 0, i, h, v) for i, (h, v) in enumerate(sent)]
    assert outcomes == [
        "applied",
        "gap",  # 9 names 7, which was lost in the first attempt
        "watermark",  # ahead of its last event: not taken
        "duplicate",
        "applied",
        "applied",
        "duplicate",
    ]
    assert consumer.partitions["t:0"].watermark == 0
    assert consumer.partitions["t:0"].applied == 9
    assert consumer.aggregates["a"].version == 3 and consumer.tally.anomalies == []
    late = encode_watermark("ordering", 9, partition=0, previous=9)
    assert consumer.handle("t", 0, 7, late.headers, late.value) == "watermark"
    assert consumer.partitions["t:0"].watermark == 9
    assert consumer.handle("t", 0, 8, [], b'{"kind":"snapshot"}') == "other"


def test_records_written_before_kind_existed_are_read_by_their_headers() -> None:
    consumer = reference().ExactlyOnce()
    headers, value = event(3, 0)
    old_value = {k: v for k, v in json.loads(value).items() if k not in ("kind", "version")}
    old_headers = [h for h in headers if h[0] != "record-kind"]
    assert consumer.handle("t", 0, 0, old_headers, json.dumps(old_value).encode()) == "applied"
    old_mark = [("event-type", b"Watermark"), ("previous-position", b"3")]
    mark = b'{"application":"ordering","position":5}'
    assert consumer.handle("t", 0, 1, old_mark, mark) == "watermark"
    assert consumer.partitions["t:0"].watermark == 5


class LosesOneRecord(WrappedProducer):
    """A producer whose first batch loses one record (its successors get through)."""

    def __init__(self, inner: Any, lose_at: int) -> None:
        super().__init__(inner)
        self.lose_at, self.sent = lose_at, 0

    def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> Any:
        self.sent += 1
        if self.sent == self.lose_at:
            return Lost()
        return super().send(topic, value=value, key=key, headers=headers, partition=partition)


class Lost:
    """The future of a record the broker never acknowledged."""

    is_done = True
    exception = KafkaError("record lost")

    def failed(self) -> bool:
        return True


def relay_all(relay: Relay) -> None:
    while relay.publish():
        pass


def versions(app: Any) -> dict[str, int]:
    """Each aggregate's last version, from the event store."""
    notifications = app.recorder.select_notifications(start=None, limit=1_000_000)
    return {str(n.originator_id): n.originator_version for n in notifications}


def run_reference(bootstrap: str, topics: list[str], state: Path) -> dict[str, Any]:
    args = [sys.executable, str(EXAMPLE), "--bootstrap", bootstrap, "--state", str(state)]
    for topic in topics:
        args += ["--topic", topic]
    done = subprocess.run(
        [*args, "--idle", "3"], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return dict(json.loads(done.stdout.splitlines()[-1]))


@pytest.fixture
def apps(tmp_path: Path) -> Any:
    def env(name: str) -> dict[str, str]:
        return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / name)}

    ordering = OrderingApp(env=env("ordering.db"))
    developer = DeveloperApp(env=env("developer.db"), billing=None)
    yield ordering, developer
    ordering.close()
    developer.close()


def test_after_an_end_to_end_run_it_holds_every_aggregates_version_as_stored(
    kafka_broker: TansuBroker, apps: Any, tmp_path: Path
) -> None:
    ordering, developer = apps
    views = SQLiteViewDatabase(tmp_path / "views.db")
    prefix = f"test.{uuid4().hex[:8]}."
    topics = {app.name: f"{prefix}{app.name}" for app in (ordering, developer)}
    for topic in topics.values():
        ensure_topic(kafka_broker.bootstrap, topic, PARTITIONS)
    producer = new_producer(kafka_broker.bootstrap)

    write_orders(ordering, 120)
    org = str(developer.create_org(name="Acme", owner_id="u-owner").id)
    key = developer.issue_key(org, name="ci", actor="user:u-owner").key.key_id
    for n in range(25):
        developer.record_usage(org_id=org, product=ANALYZE, key_id=key, request_id=f"r{n}")
    # The first ordering batch loses its 40th record; the relay records nothing and the
    # next attempt sends the whole batch again.
    lossy = Relay(ordering, views, LosesOneRecord(producer, 40), topics["ordering"])
    with pytest.raises(PublishFailed):
        lossy.publish()
    relay_all(Relay(ordering, views, producer, topics["ordering"], batch_size=200))
    relay_all(Relay(developer, views, producer, topics["developer"]))

    state = tmp_path / "reference-state.json"
    first = run_reference(kafka_broker.bootstrap, list(topics.values()), state)
    assert first["gaps"] > 0 and first["duplicates"] > 0  # the lost record was noticed

    # More happens; the consumer comes back and continues from its saved state.
    write_orders(ordering, 60, seed=9)
    for n in range(25, 40):
        developer.record_usage(org_id=org, product=ANALYZE, key_id=key, request_id=f"r{n}")
    relay_all(Relay(ordering, views, producer, topics["ordering"]))
    relay_all(Relay(developer, views, producer, topics["developer"]))
    producer.close()
    second = run_reference(kafka_broker.bootstrap, list(topics.values()), state)

    saved = json.loads(state.read_text())
    held = {k: a["version"] for k, a in saved["aggregates"].items()}
    assert held == {**versions(ordering), **versions(developer)}
    stored_events = sum(
        len(app.recorder.select_notifications(start=None, limit=10**6))
        for app in (ordering, developer)
    )
    assert second["applied"] == stored_events  # every event once, over both runs
    assert second["anomalies"] == [] and second["watermarks"] > first["watermarks"]
    usage = [a for a in saved["aggregates"].values() if a["type"] == "UsageRecorded"]
    assert len(usage) == 1 and usage[0]["fields"]["actor"] == f"key:{key}"
    assert usage[0]["fields"]["units"] == 1 and usage[0]["version"] == 1 + 40
    kinds = Counter(a["application"] for a in saved["aggregates"].values())
    assert kinds["ordering"] > 0 and kinds["developer"] >= 3  # orders; org, key, meter


def test_an_event_the_codec_writes_is_what_the_reference_consumer_reads(
    apps: Any,
) -> None:
    ordering, _ = apps
    write_orders(ordering, 5)
    consumer = reference().ExactlyOnce()
    coder, previous = ordering.mapper.transcoder, 0
    for offset, n in enumerate(ordering.recorder.select_notifications(start=None, limit=10**6)):
        message = encode_event("ordering", n, coder, partition=0, previous=previous)
        assert consumer.handle("t", 0, offset, message.headers, message.value) == "applied"
        previous = n.id
    assert {k: a.version for k, a in consumer.aggregates.items()} == versions(ordering)
