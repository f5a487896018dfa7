"""Story: production mode with Kafka: the log reaches Kafka and the Kafka-fed views, whatever fails.

Two `fabledger serve` processes take orders on one PostgreSQL (no projections in them);
`fabledger worker relay` publishes every event to Kafka and `fabledger worker projections
--source kafka` folds them into the read models, which both servers read back with
`X-Min-Position` (waiting on the Kafka watermarks). Killing the relay and the consumer with
SIGKILL in the middle of a 10,000-event stream loses nothing and duplicates no effect;
a broker that hangs for 30 s stops nobody from ordering, and the relay catches up.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import psycopg
import pytest

from application.developer import DeveloperApp
from application.ordering import OrderingApp
from infra.kafka.codec import header
from infra.kafka.config import group_for, topic_for
from infra.kafka.positions import KafkaViewPosition
from infra.views_db import PostgresViewDatabase
from projections.base import Projection, ViewDatabase
from projections.orders import OrdersProjection
from projections.runner import ProjectionRunner
from projections.stats import StatsProjection
from projections.usage import UsageProjection
from tests.support.http import CUBE_STL
from tests.support.kafka import TansuBroker, read_topic
from tests.support.order_stream import write_orders
from tests.support.postgres import PostgresDatabase, PostgresServer
from tests.support.served import create_admin, served
from tests.support.worker_process import WorkerProcess, worker

ADMIN = {"email": "owner@example.com", "password": "admin password for e2e"}
VIEWS = ("orders", "stats", "usage")
CATCH_UP = 90.0  # seconds a restarted worker may take (a group join waits for the dead member)


@dataclass
class Deployment:
    """What the processes share: the database, the broker and the topic prefix."""

    env: dict[str, str]
    db: PostgresDatabase
    server: PostgresServer
    broker: TansuBroker
    prefix: str

    @property
    def topic(self) -> str:
        return topic_for("ordering", self.prefix)

    def relay_position(self) -> int:
        with psycopg.connect(self.db.dsn, autocommit=True) as conn:
            try:
                row = conn.execute(
                    "SELECT position FROM relay_positions WHERE application = 'ordering'"
                ).fetchone()
            except psycopg.errors.UndefinedTable:
                return 0
        return int(row[0]) if row else 0

    def view_position(self, view: str) -> int:
        views = PostgresViewDatabase(self.db.dsn, max_size=1)
        try:
            app = "developer" if view == "usage" else "ordering"
            return KafkaViewPosition(
                view, views, topic_for(app, self.prefix), group_for(view, self.prefix)
            ).position()
        finally:
            views.close()


@pytest.fixture
def deployment(
    served_env: dict[str, str],
    postgres_db: PostgresDatabase,
    postgres_server: PostgresServer,
    kafka_broker: TansuBroker,
) -> Deployment:
    """Several processes on one PostgreSQL and one broker; topics private to this test."""
    prefix = f"e2e{uuid4().hex[:8]}."
    env = {
        **served_env,
        "FABLEDGER_DATABASE_URL": postgres_db.dsn,
        "FABLEDGER_PROJECTIONS_IN_PROCESS": "false",
        "FABLEDGER_PROJECTIONS_SOURCE": "kafka",
        "FABLEDGER_KAFKA_BOOTSTRAP": kafka_broker.bootstrap,
        "FABLEDGER_KAFKA_TOPIC_PREFIX": prefix,
        "FABLEDGER_READ_WAIT_SECONDS": "30",  # the first read may wait for a group join
    }
    return Deployment(env, postgres_db, postgres_server, kafka_broker, prefix)


def wait_until(done: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.2)


def views_reach(deployment: Deployment, head: int, timeout: float) -> None:
    """Wait until the orders and stats views have folded the ordering log up to `head`."""
    for view in ("orders", "stats"):
        wait_until(partial(moved, partial(deployment.view_position, view), head - 1), timeout, view)


def moved(position: Callable[[], int], beyond: int) -> bool:
    return position() > beyond


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.request.url, response.text)
    return response.json()


def place(http: httpx.Client, auth: dict[str, str], quantity: int) -> dict[str, Any]:
    return _ok(
        http.post(
            "/api/checkout",
            headers=auth,
            files={"model_file": ("cube.stl", CUBE_STL)},
            data={"material": "PLA", "quantity": str(quantity), "fulfillment": "pickup"},
        ),
        201,
    )


def digest(views: ViewDatabase, projection: Projection) -> str:
    with views.reading() as cur:
        return hashlib.sha256(repr(list(projection.dump(cur))).encode()).hexdigest()


def assert_views_equal_a_rebuild(deployment: Deployment) -> None:
    """Every Kafka-fed view, hashed, against the same view rebuilt from the log elsewhere."""
    name = f"rebuild_{uuid4().hex}"
    deployment.server.create_database(name)
    fed = PostgresViewDatabase(deployment.db.dsn, max_size=1)
    rebuilt = PostgresViewDatabase(deployment.server.dsn(name), max_size=1)
    env = deployment.db.eventsourcing_env()
    ordering, developer = OrderingApp(env=env), DeveloperApp(env=env, billing=None)
    try:
        for app, projection in (
            (ordering, OrdersProjection()),
            (ordering, StatsProjection()),
            (developer, UsageProjection()),
        ):
            ProjectionRunner(app, projection, rebuilt).rebuild()
            assert digest(fed, projection) == digest(rebuilt, projection), projection.name
    finally:
        for closable in (ordering, developer, fed, rebuilt):
            closable.close()
        deployment.server.drop_database(name)


def stored_positions(deployment: Deployment, head: int) -> set[int]:
    """The notification ids of the ordering log up to `head` (a rollback may leave gaps)."""
    app = OrderingApp(env=deployment.db.eventsourcing_env())
    try:
        return {n.id for n in app.recorder.select_notifications(start=None, limit=head, stop=head)}
    finally:
        app.close()


def assert_every_event_in_kafka(deployment: Deployment, head: int) -> int:
    """Every stored position up to head published, each order in version order; duplicates."""
    stored = stored_positions(deployment, head)
    # A fresh reader on a loaded 2-core machine can get end offsets from the broker that lag
    # the records the consumers already folded: read again until the topic shows them (a
    # record that was truly lost never shows, and the deadline fails the test).
    deadline = time.monotonic() + 30
    while True:
        records = read_topic(deployment.broker.bootstrap, deployment.topic, until=head)
        events = [r for r in records if header(r.headers, "event-type") != "Watermark"]
        positions = [int(header(r.headers, "notification-position") or 0) for r in events]
        if set(positions) == stored or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert set(positions) == stored, sorted(stored - set(positions))[:20]
    first_seen: dict[bytes, list[int]] = defaultdict(list)
    for record in events:  # partition by partition, in offset order
        version = int(header(record.headers, "aggregate-version") or 0)
        if version not in first_seen[record.key]:
            first_seen[record.key].append(version)
    assert all(v == list(range(1, len(v) + 1)) for v in first_seen.values())
    return len(positions) - len(set(positions))


def stopped_cleanly(process: WorkerProcess) -> None:
    code, seconds = process.terminate()
    assert code == 0 and seconds < 10, process.tail()
    assert "worker_stopped" in process.tail()


@pytest.fixture
def workers(
    deployment: Deployment, fabledger_command: list[str], tmp_path: Path
) -> Iterator[Callable[[str], WorkerProcess]]:
    """Starts `fabledger worker relay` / `projections --source kafka`; kills leftovers."""
    started: list[Any] = []

    def start(kind: str) -> WorkerProcess:
        args = ["relay", "--interval", "0.1"] if kind == "relay" else ["projections"]
        log = tmp_path / f"{kind}-{len(started)}.log"
        context = worker(fabledger_command, deployment.env, log, *args)
        started.append(context)
        process = context.__enter__()
        process.wait_for_log("worker_started")
        return process

    yield start
    for context in started:
        context.__exit__(None, None, None)


def test_orders_over_http_on_two_servers_reach_kafka_and_the_kafka_fed_views(
    deployment: Deployment,
    workers: Callable[[str], WorkerProcess],
    fabledger_command: list[str],
    tmp_path: Path,
) -> None:
    cli, env = fabledger_command, deployment.env
    create_admin(cli, env, tmp_path, ADMIN["email"], ADMIN["password"])
    relay, projector = workers("relay"), workers("projections")
    with (
        served(cli, env, tmp_path / "one.log") as one,
        served(cli, env, tmp_path / "two.log") as two,
    ):
        customer = _ok(
            one.post(
                "/api/auth/register",
                json={"username": "maker", "email": "maker@example.com", "password": "pw for e2e!"},
            ),
            201,
        )
        auth = {"Authorization": f"Bearer {customer['token']}"}
        admin = {"Authorization": f"Bearer {_ok(two.post('/api/auth/login', json=ADMIN))['token']}"}
        head = 0
        for n in range(1, 13):
            writer, staff = (one, two) if n % 2 else (two, one)
            order_id = place(writer, auth, n)["order"]["id"]
            # The other server moves it along: several events per order, from two processes.
            _ok(staff.patch(f"/api/admin/orders/{order_id}/paid", headers=admin))
            moved = _ok(
                staff.patch(
                    f"/api/admin/orders/{order_id}/status",
                    headers=admin,
                    json={"status": "printing"},
                )
            )
            head = max(head, moved["position"])
        # Read-your-writes in Kafka mode: the read waits for every partition's watermark.
        for server in (one, two):
            listed = _ok(
                server.get("/api/admin/orders", headers={**admin, "X-Min-Position": str(head)})
            )
            assert listed["total"] == 12 and {o["status"] for o in listed["orders"]} == {"printing"}

    wait_until(lambda: deployment.relay_position() >= head, 60, "relay")
    views_reach(deployment, head, 60)
    assert assert_every_event_in_kafka(deployment, head) == 0
    assert_views_equal_a_rebuild(deployment)
    with psycopg.connect(deployment.db.dsn) as conn:
        statuses = conn.execute(
            "SELECT status, COUNT(*) FROM orders_view GROUP BY status"
        ).fetchall()
    assert statuses == [("printing", 12)]
    stopped_cleanly(relay)
    stopped_cleanly(projector)


@pytest.mark.slow
def test_kill_9_the_relay_and_the_consumer_mid_stream_and_restart_them(
    deployment: Deployment, workers: Callable[[str], WorkerProcess]
) -> None:
    app = OrderingApp(env=deployment.db.eventsourcing_env())
    relay, projector = workers("relay"), workers("projections")
    written: list[int] = []
    writer = threading.Thread(
        target=lambda: written.append(write_orders(app, 10_000, block=20, pause=0.08))
    )
    writer.start()
    kills: list[tuple[str, int]] = []
    try:
        # Following the stream: SIGKILL both.
        wait_until(lambda: deployment.relay_position() >= 2_000, 60, "relay at 2,000")
        relay.kill()
        kills.append(("relay", deployment.relay_position()))
        wait_until(lambda: deployment.view_position("orders") >= 1_500, 60, "orders at 1,500")
        projector.kill()
        kills.append(("projections", deployment.view_position("orders")))
        # Catching up on a backlog, batch after full batch: a SIGKILL there lands mid-batch.
        backlog = kills[0][1] + 2_500
        wait_until(lambda: app.position() >= backlog, 60, "a backlog")

        def orders_at() -> int:
            return deployment.view_position("orders")

        for kind, position in (("relay", deployment.relay_position), ("projections", orders_at)):
            before = position()
            process = workers(kind)
            wait_until(partial(moved, position, before), CATCH_UP, f"{kind} moving again")
            process.kill()
            kills.append((kind, position()))
        relay, projector = workers("relay"), workers("projections")
    finally:
        writer.join()
        app.close()
    head = written[0]
    assert head >= 10_000 and all(at < head for _, at in kills)
    wait_until(lambda: deployment.relay_position() == head, CATCH_UP, "relay after restart")
    views_reach(deployment, head, CATCH_UP)
    duplicates = assert_every_event_in_kafka(deployment, head)
    print(f"{head} events; SIGKILLs at {kills}; {duplicates} events published more than once")
    assert_views_equal_a_rebuild(deployment)
    stopped_cleanly(relay)
    stopped_cleanly(projector)


@pytest.mark.slow
def test_a_hung_broker_stops_no_order_and_the_relay_catches_up(
    deployment: Deployment,
    workers: Callable[[str], WorkerProcess],
    fabledger_command: list[str],
    tmp_path: Path,
) -> None:
    cli, env = fabledger_command, deployment.env
    relay, projector = workers("relay"), workers("projections")
    with served(cli, env, tmp_path / "api.log") as api:
        customer = _ok(
            api.post(
                "/api/auth/register",
                json={"username": "maker", "email": "maker@example.com", "password": "pw for e2e!"},
            ),
            201,
        )
        auth = {"Authorization": f"Bearer {customer['token']}"}
        before = place(api, auth, 1)["position"]
        wait_until(lambda: deployment.view_position("orders") >= before, 60, "orders before")

        deployment.broker.pause()
        try:
            placed, started = [], time.monotonic()
            while time.monotonic() - started < 30:
                placed.append(place(api, auth, 2)["position"])  # 201 every time
                time.sleep(0.5)
            assert deployment.relay_position() <= before  # nothing acknowledged meanwhile
        finally:
            deployment.broker.resume()
        head = max(placed)
        wait_until(lambda: deployment.relay_position() == head, CATCH_UP, "relay after the hang")
        wait_until(lambda: deployment.view_position("orders") >= head, CATCH_UP, "orders after")
    assert len(placed) >= 40
    assert_every_event_in_kafka(deployment, head)
    assert_views_equal_a_rebuild(deployment)
    stopped_cleanly(relay)
    stopped_cleanly(projector)
