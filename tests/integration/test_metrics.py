"""Story: an operator scrapes /metrics and probes /api/ready.

/metrics counts requests under their route templates (never the raw path, so a scan of
random URLs adds one series, not thousands), with latency histograms, and reads the
log heads, each view's lag and the sandbox pools at scrape time. /api/ready is 200 while
the event stores answer and the views keep up; 503 with the reason when a view falls
further behind than FABLEDGER_READY_MAX_LAG or PostgreSQL goes away.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import missing_component
from tests.support.http import app_settings, register, running_app, staff
from tests.support.postgres import PostgresServer, find_pg_bindir

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: TestClient) -> tuple[str, Samples]:
    """GET /metrics: the text and every sample by (name, labels)."""
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    return response.text, samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def wait_until_ready(client: TestClient, timeout: float = 10.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        response = client.get("/api/ready")
        if response.status_code == 200 or time.monotonic() > deadline:
            assert response.status_code == 200, response.text
            body: dict[str, object] = response.json()
            return body
        time.sleep(0.1)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[TestClient]:
    """A fresh app (exact counts), views lagging at most 2 events before it is not ready."""
    with running_app(app_settings(tmp_path, ready_max_lag=2)) as client:
        yield client


def test_requests_are_counted_by_route_template_with_latency_histograms(
    app: TestClient,
) -> None:
    admin = staff(app, "admin", "boss")
    for _ in range(2):
        assert app.get("/api/health").json() == {"status": "ok"}
    scanned = [f"/wp-admin/{uuid.uuid4().hex}.php" for _ in range(3)]
    for path in scanned:
        assert app.get(path).status_code == 404
    missing = uuid.uuid4()
    assert app.get(f"/api/admin/orders/{missing}", headers=admin.auth).status_code == 404
    org = app.post("/api/orgs", json={"name": "Acme"}, headers=admin.auth)
    assert org.status_code == 201, org.text
    assert app.get(f"/api/orgs/{org.json()['id']}", headers=admin.auth).status_code == 200
    # Refused by the body cap before any route ran: still named by its template.
    too_big = app.post(
        "/api/quote", content=b"{" + b" " * 2_000_000 + b"}", headers={"content-type": "x/json"}
    )
    assert too_big.status_code == 413

    text, samples = scrape(app)

    requests = "fabledger_http_requests_total"
    assert value(samples, requests, route="/api/health", method="GET", status="200") == 2
    assert value(samples, requests, route="unmatched", method="GET", status="404") == 3
    assert all(path not in text for path in scanned) and str(missing) not in text
    admin_order = "/api/admin/orders/{order_id}"
    assert value(samples, requests, route=admin_order, method="GET", status="404") == 1
    assert value(samples, requests, route="/api/orgs", method="POST", status="201") == 1
    assert value(samples, requests, route="/api/orgs/{org_id}", method="GET", status="200") == 1
    assert value(samples, requests, route="/api/quote", method="POST", status="413") == 1

    latency = "fabledger_http_request_duration_seconds"
    health = {"route": "/api/health", "method": "GET"}
    assert value(samples, f"{latency}_count", **health) == 2
    assert value(samples, f"{latency}_bucket", **health, le="+Inf") == 2
    buckets = sorted(
        (float(dict(labels)["le"]), n)
        for (name, labels), n in samples.items()
        if name == f"{latency}_bucket" and ("route", "/api/health") in labels
    )
    assert len(buckets) > 5
    assert [n for _, n in buckets] == sorted(n for _, n in buckets)  # cumulative
    assert (value(samples, f"{latency}_sum", **health) or 0) > 0

    # The admin's account and the organisation were appended to their stores, and timed.
    appends = "fabledger_event_store_append_duration_seconds_count"
    assert (value(samples, appends, application="identity") or 0) >= 1
    assert (value(samples, appends, application="developer") or 0) >= 1

    for view in ("orders", "stats", "usage"):
        assert (
            value(samples, "fabledger_projection_lag_events", view=view, source="log") is not None
        )
    assert value(samples, "fabledger_event_log_head", application="developer") == 1
    assert value(samples, "fabledger_pool_queued", pool="dfm") == 0
    assert value(samples, "fabledger_pool_rejected_total", pool="dfm") == 0


def test_ready_turns_503_while_a_view_lags_beyond_the_bound_and_back_when_it_catches_up(
    app: TestClient,
) -> None:
    owner = register(app, "maker")
    body = wait_until_ready(app)
    assert body["status"] == "ready" and body["max_lag"] == 2

    usage = app.app.state.container.projections["usage"]  # type: ignore[attr-defined]
    usage.stop()  # the runner that folds the developer log into the usage view halts
    for n in range(3):
        created = app.post("/api/orgs", json={"name": f"Org {n}"}, headers=owner.auth)
        assert created.status_code == 201, created.text

    refused = app.get("/api/ready")
    assert refused.status_code == 503, refused.text
    reason = refused.json()["error"]
    assert "usage by 3" in reason and "2 events" in reason, reason
    views = {v["view"]: v for v in refused.json()["views"]}
    assert views["usage"]["lag"] == 3 and views["orders"]["lag"] == 0
    _, samples = scrape(app)
    assert value(samples, "fabledger_projection_lag_events", view="usage", source="log") == 3

    usage.catch_up()
    assert wait_until_ready(app)["status"] == "ready"
    _, samples = scrape(app)
    assert value(samples, "fabledger_projection_lag_events", view="usage", source="log") == 0


def test_kafka_fed_views_and_the_relay_are_measured_from_their_stored_positions(
    tmp_path: Path,
) -> None:
    # No broker is needed to read lag: the relay and the consumers keep their positions in
    # the views database, and these are what the scrape compares with the log heads.
    settings = app_settings(
        tmp_path, kafka_bootstrap="127.0.0.1:9", projections_source="kafka", ready_max_lag=0
    )
    with running_app(settings) as app:
        owner = register(app, "maker")
        assert app.post("/api/orgs", json={"name": "Acme"}, headers=owner.auth).status_code == 201
        _, samples = scrape(app)
        lag = "fabledger_projection_lag_events"
        assert value(samples, lag, view="usage", source="kafka") == 1
        assert value(samples, lag, view="usage", source="log") is None
        relay = "fabledger_relay_lag_events"
        # Registering writes two events: Registered and its EmailVerificationRequested.
        assert value(samples, relay, topic="fabledger.identity") == 2
        assert value(samples, relay, topic="fabledger.developer") == 1
        refused = app.get("/api/ready")
        assert refused.status_code == 503 and "usage by 1" in refused.json()["error"]

        views = app.app.state.container.views  # type: ignore[attr-defined]
        with views.transaction() as cur:  # as the relay and the usage consumer record them
            cur.execute(
                "INSERT INTO relay_positions (application, position, partition_heads)"
                " VALUES ('identity', 2, '[2]')"
            )
            # Every Kafka-fed view as its consumer records having applied its whole log.
            container = app.app.state.container  # type: ignore[attr-defined]
            for view, runner in container.projections.items():
                head = runner.app.position()
                if head:
                    cur.execute(
                        "INSERT INTO consumer_offsets (group_id, topic, partition,"
                        " next_offset, watermark, applied_position) VALUES (?, ?, 0, ?, ?, ?)",
                        (
                            f"fabledger.projection.{view}",
                            f"fabledger.{runner.app.name}",
                            head + 1,
                            head,
                            head,
                        ),
                    )
        _, samples = scrape(app)
        assert value(samples, relay, topic="fabledger.identity") == 0
        assert value(samples, lag, view="usage", source="kafka") == 0
        ready = app.get("/api/ready")
        assert ready.status_code == 200, ready.text


def test_health_and_ready_are_documented_with_their_models(app: TestClient) -> None:
    paths = app.get("/openapi.json").json()["paths"]
    assert "/metrics" not in paths
    ready = paths["/api/ready"]["get"]["responses"]
    assert set(ready) >= {"200", "503"}
    assert "$ref" in str(ready["503"]["content"]["application/json"]["schema"])
    assert "$ref" in str(paths["/api/health"]["get"]["responses"]["200"])


def test_an_uninstrumented_app_has_no_metrics_route(tmp_path: Path) -> None:
    from api.app import create_app

    with TestClient(create_app(app_settings(tmp_path), instrument=False)) as client:
        assert client.get("/api/health").json() == {"status": "ok"}
        assert client.get("/metrics").status_code == 404


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for this test alone: stopping it hurts nobody else."""
    bindir = find_pg_bindir()
    if bindir is None:
        missing_component("PostgreSQL binaries not found (apt-get install postgresql)")
    with PostgresServer(bindir) as server:
        yield server


@pytest.mark.postgres
@pytest.mark.slow
def test_ready_is_503_while_postgres_is_down_and_metrics_still_answer(
    own_postgres: PostgresServer, tmp_path: Path
) -> None:
    dsn = own_postgres.create_database("shop")
    with running_app(app_settings(tmp_path, database_url=dsn)) as app:
        register(app, "maker")
        assert wait_until_ready(app)["status"] == "ready"

        own_postgres.pause("fast")
        try:
            started = time.monotonic()
            refused = app.get("/api/ready")
            took = time.monotonic() - started
            assert refused.status_code == 503, refused.text
            assert refused.json()["error"].startswith("event store unreachable"), refused.text
            assert took < 5, took
            # The scrape still answers: request counts stay visible, the unreadable parts
            # (heads, lag) are left out until the database is back.
            text, samples = scrape(app)
            assert "fabledger_projection_lag_events{" not in text
            route = {"route": "/api/ready", "method": "GET"}
            assert value(samples, "fabledger_http_requests_total", **route, status="503") == 1
        finally:
            own_postgres.resume()

        assert wait_until_ready(app, timeout=20)["status"] == "ready"
