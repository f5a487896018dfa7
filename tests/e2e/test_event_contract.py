"""Story: another team reads fabledger's topics with its own client and only the contract.

A shop runs a day's business over HTTP (sign-ups, an address, orders paid by UPI and by
hand, a printer assignment, an order shipped, a note, an API key metered by the DFM API,
a contact message, settings). Then:

* without a broker, every stored event of every application, encoded as the relay encodes
  it, matches its message in the AsyncAPI document (value, headers, key);
* with the tansu broker, the relay publishes every log and confluent-kafka (librdkafka, not
  our kafka-python) reads every topic from the beginning until idle and past the relay's
  known final position, validates each record, applies the events by the documented
  exactly-once rule, and ends with each aggregate at the version the database holds.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from domain.fleet.printers import DEFAULT_PRINTER_ID
from infra.bootstrap import Container
from infra.kafka.codec import (
    POSITION_HEADER,
    PREVIOUS_POSITION_HEADER,
    RECORD_KIND_HEADER,
)
from infra.kafka.config import ensure_topic, new_producer, topic_for
from infra.kafka.contract import (
    SAVES,
    build,
)
from infra.kafka.contract_check import ContractViolation, RecordChecker
from infra.kafka.relay import Relay, encode_batch
from tests.support.http import (
    CUBE_STL,
    Account,
    app_settings,
    place_order,
    register,
    running_app,
    staff,
)
from tests.support.kafka import TansuBroker

PARTITIONS = 3
BATCH = 500
IDLE_SECONDS = 3.0  # a consumer has read everything when nothing came for this long...
READ_TIMEOUT = 90.0  # ...and it has seen the relay's last position on every topic
# What the story must reach (the brief of issue 15): a schema no record exercised proves little.
MUST_REACH = {
    "Order.Placed",
    "Order.PaymentConfirmed",
    "Order.StatusChanged",
    "Order.PrinterAssigned",
    "Payment.Requested",
    "Payment.Confirmed",
    "ApiKey.Issued",
    "Meter.UsageRecorded",
    "User.Registered",
    "Inquiry.Submitted",
    "ShopSettings.Changed",
}


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.request.url, response.text)
    return response.json()


def run_the_day(client: TestClient) -> None:
    """A day of business over HTTP, touching every context we can reach."""
    admin = staff(client, "admin", "owner")
    customer = register(client, "maker")
    for key, value in (("upi_vpa", "printshop@okaxis"), ("upi_payee_name", "Print Shop")):
        ok(client.put(f"/api/admin/settings/{key}", headers=admin.auth, json={"value": value}))
    address = {
        "label": "Work",
        "name": "Asha Rao",
        "address": "12 MG Road",
        "city": "Pune",
        "zip": "411001",
    }
    ok(client.post("/api/user/addresses", json=address, headers=customer.auth), 201)

    by_upi, by_hand = place_order(client, customer), place_order(client, customer, quantity=1)
    payment = ok(client.get(f"/api/user/orders/{by_upi['id']}/payment", headers=customer.auth))
    utr = {"utr": "512345678901"}
    ok(client.post(f"/api/user/payments/{payment['id']}/utr", headers=customer.auth, json=utr))
    amount = {"amount": f"{payment['amount_due_paise'] / 100:.2f}"}
    reconcile = f"/api/admin/payments/{payment['id']}/reconcile"
    ok(client.post(reconcile, headers=admin.auth, json=amount))
    cash = {"method": "cash", "reference": "counter 3"}
    ok(client.patch(f"/api/admin/orders/{by_hand['id']}/paid", headers=admin.auth, json=cash))

    order = f"/api/admin/orders/{by_upi['id']}"
    printer = {"printer_id": str(DEFAULT_PRINTER_ID)}
    ok(client.patch(f"{order}/printer", json=printer, headers=admin.auth))
    for status in ("printing", "post_processing", "shipped"):
        ok(client.patch(f"{order}/status", json={"status": status}, headers=admin.auth))
    note = {"note": "packed twice", "is_internal": False}
    ok(client.post(f"{order}/notes", json=note, headers=admin.auth), 201)

    api_key_usage(client, customer)
    message = {"subject": "A question", "message": "Can you print in PETG?"}
    ok(client.post("/api/contact", headers=customer.auth, json=message), 201)


def api_key_usage(client: TestClient, owner: Account) -> None:
    """An org, its key, and metered DFM calls with that key."""
    org = ok(client.post("/api/orgs", json={"name": "Acme Robotics"}, headers=owner.auth), 201)
    key = ok(
        client.post(f"/api/orgs/{org['id']}/keys", json={"name": "ci"}, headers=owner.auth), 201
    )
    files = {"model_file": ("cube.stl", CUBE_STL, "application/octet-stream")}
    for _ in range(2):
        ok(client.post("/api/v1/dfm/quick_info", files=files, headers={"X-API-Key": key["apiKey"]}))


def settle(container: Container) -> dict[str, int]:
    """Each application's log head once the in-process flows stopped writing."""
    heads: dict[str, int] = {}
    for _ in range(40):
        now = {name: app.position() for name, app in container.applications().items()}
        if now == heads:
            return now
        heads = now
        time.sleep(0.5)
    raise AssertionError(f"the logs kept moving: {heads}")


def stored_versions(container: Container, heads: dict[str, int]) -> dict[str, int]:
    """The last version of every aggregate in the database, up to the given heads."""
    versions: dict[str, int] = {}
    for name, app in container.applications().items():
        for n in app.recorder.select_notifications(start=1, limit=1_000_000, stop=heads[name]):
            versions[str(n.originator_id)] = max(
                versions.get(str(n.originator_id), 0), n.originator_version
            )
    return versions


@dataclass
class Shop:
    client: TestClient
    container: Container
    heads: dict[str, int]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    with running_app(app_settings(tmp_path_factory.mktemp("contract"))) as client:
        container: Container = client.app.state.container  # type: ignore[attr-defined]
        assert list(container.applications()) == list(SAVES)  # one channel per application
        run_the_day(client)
        yield Shop(client, container, settle(container))


@dataclass
class Verdicts:
    """Every record checked: the problems (by kind) and the messages seen."""

    problems: Counter[str] = field(default_factory=Counter)
    seen: set[str] = field(default_factory=set)
    records: int = 0

    def check(
        self, checker: RecordChecker, app: str, key: Any, value: bytes, headers: Any
    ) -> dict[str, Any] | None:
        self.records += 1
        try:
            document = checker.check(app, key, value, headers)
        except ContractViolation as violation:
            self.problems[str(violation)[:300]] += 1
            return None
        self.seen.add(title_of(document))
        return document

    def assert_clean(self) -> None:
        worst = "\n".join(f"{n} x {p}" for p, n in self.problems.most_common(15))
        assert not self.problems, f"{sum(self.problems.values())} of {self.records}:\n{worst}"


TITLES = {
    m["payload"]["allOf"][1]["properties"]["topic"]["const"]: name
    for name, m in build()["components"]["messages"].items()
    if "allOf" in m["payload"]
}


def title_of(document: dict[str, Any]) -> str:
    return "Watermark" if document.get("kind") == "watermark" else TITLES[document["topic"]]


def test_every_record_the_relay_encodes_matches_the_contract(shop: Shop) -> None:
    checker, verdicts = RecordChecker(), Verdicts()
    for name, app in shop.container.applications().items():
        heads = [0] * PARTITIONS
        notifications = app.recorder.select_notifications(start=1, limit=1_000_000)
        for start in range(0, len(notifications), BATCH):
            batch = notifications[start : start + BATCH]
            for m in encode_batch(name, app.mapper.transcoder, batch, heads):
                verdicts.check(checker, name, m.key, m.value, m.headers)
    verdicts.assert_clean()
    assert verdicts.seen >= MUST_REACH, MUST_REACH - verdicts.seen
    print(f"{len(verdicts.seen)} of {len(TITLES) + 1} message types reached")


def test_a_foreign_client_reads_every_topic_and_rebuilds_the_database_state(
    shop: Shop, kafka_broker: TansuBroker
) -> None:
    confluent_kafka = pytest.importorskip("confluent_kafka")
    prefix = f"contract{uuid4().hex[:8]}."
    topics = {topic_for(name, prefix): name for name in SAVES}
    finals = {}
    for topic, name in topics.items():
        ensure_topic(kafka_broker.bootstrap, topic, PARTITIONS)
        producer = new_producer(kafka_broker.bootstrap)
        relay = Relay(shop.container.applications()[name], shop.container.views, producer, topic)
        while relay.publish():
            pass
        finals[topic] = relay.position()
        producer.close()
    assert finals == {topic_for(n, prefix): shop.heads[n] for n in SAVES}

    consumer = confluent_kafka.Consumer(
        {
            "bootstrap.servers": kafka_broker.bootstrap,
            "group.id": f"{prefix}reader",  # assigned, never joined or committed
            "enable.auto.commit": False,
        }
    )
    consumer.assign(
        [
            confluent_kafka.TopicPartition(t, p, confluent_kafka.OFFSET_BEGINNING)
            for t in topics
            for p in range(PARTITIONS)
        ]
    )
    reader = ExactlyOnce()
    checker, verdicts = RecordChecker(), Verdicts()
    try:
        deadline, quiet_since = time.monotonic() + READ_TIMEOUT, time.monotonic()
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                idle = time.monotonic() - quiet_since
                done = all(reader.highest[t] >= finals[t] for t in topics)
                if idle > IDLE_SECONDS and (done or idle > 5 * IDLE_SECONDS):
                    break  # read it all, or nothing more is coming (the asserts say which)
                continue
            assert message.error() is None, message.error()
            quiet_since = time.monotonic()
            app, headers = topics[message.topic()], message.headers() or []
            document = verdicts.check(checker, app, message.key(), message.value(), headers)
            reader.read(message.topic(), message.partition(), headers, document)
    finally:
        consumer.close()
    assert all(reader.highest[t] >= finals[t] for t in topics), (dict(reader.highest), finals)
    verdicts.assert_clean()
    assert not reader.refused, reader.refused[:10]
    assert reader.versions == stored_versions(shop.container, shop.heads)


class ExactlyOnce:
    """The README's consumer rule, applied as another team would, from headers alone."""

    def __init__(self) -> None:
        self.last: dict[tuple[str, int], int] = defaultdict(int)  # applied position a partition
        self.highest: dict[str, int] = defaultdict(int)  # per topic, to know we read it all
        self.versions: dict[str, int] = {}
        self.refused: list[str] = []

    def read(
        self, topic: str, partition: int, headers: list[tuple[str, bytes]], value: Any
    ) -> None:
        named = {k: v.decode() for k, v in headers}
        if named.get(RECORD_KIND_HEADER) != "event":
            return  # a watermark: outside the chain
        position = int(named[POSITION_HEADER])
        self.highest[topic] = max(self.highest[topic], position)
        last = self.last[topic, partition]
        if position <= last:
            return  # a copy sent again
        if int(named[PREVIOUS_POSITION_HEADER]) != last:
            self.refused.append(f"{topic}/{partition}@{position}: previous is not {last}")
            return
        self.last[topic, partition] = position
        if value is not None:
            aggregate, version = value["originator_id"], value["originator_version"]
            if version != self.versions.get(aggregate, 0) + 1:
                self.refused.append(f"{aggregate} v{version} after {self.versions.get(aggregate)}")
            self.versions[aggregate] = version
