"""Story: a developer organisation issues keys and calls the metered API up to its quota.

Runs on the in-memory store, SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from domain.api_key_format import parse_key, parse_pair
from domain.errors import Conflict, QuotaExceeded, Unauthorized
from domain.meters import Meter
from domain.plans import ANALYZE, PLANS, QUICK_INFO
from infra.bootstrap import Container

NOV = datetime(2026, 11, 21, tzinfo=UTC)


@pytest.fixture
def org_id(container: Container) -> str:
    return str(container.developer.create_org(name="Acme Robotics", owner_id="u-owner").id)


def test_a_key_authenticates_in_both_styles_until_it_is_revoked(
    container: Container, org_id: str
) -> None:
    dev = container.developer
    issued = dev.issue_key(org_id, name="ci", actor="user:u-owner")
    assert issued.api_key.startswith("dm_live_") and len(issued.api_key) == 68
    assert dev.verify(parse_key(issued.api_key)).org_id == org_id
    assert dev.verify(parse_pair(issued.client_id, issued.client_secret)).org_id == org_id
    assert issued.key.last_four == issued.api_key[-12:-8]

    dev.revoke_key(org_id, issued.key.key_id, actor="user:u-owner")
    with pytest.raises(Unauthorized, match="revoked"):
        dev.verify(parse_key(issued.api_key))
    with pytest.raises(Conflict, match="already revoked"):
        dev.revoke_key(org_id, issued.key.key_id, actor="user:u-owner")


def test_the_free_plan_allows_two_active_keys(container: Container, org_id: str) -> None:
    dev = container.developer
    first = dev.issue_key(org_id, name="a", actor="t")
    dev.issue_key(org_id, name="b", actor="t")
    with pytest.raises(Conflict, match="allows 2 active API keys"):
        dev.issue_key(org_id, name="c", actor="t")
    dev.revoke_key(org_id, first.key.key_id, actor="t")
    dev.issue_key(org_id, name="c", actor="t")
    assert [k.name for k in dev.org_keys(org_id)] == ["b", "c"]


def test_meters_count_each_product_separately_and_the_free_cap_is_hard(
    container: Container, org_id: str
) -> None:
    dev = container.developer
    for i in range(100):
        reading = dev.record_usage(
            org_id=org_id, product=ANALYZE, key_id="k", request_id=f"r{i}", now=NOV
        )
    assert (reading.tier, reading.included, reading.remaining) == ("free", 100, 0)
    with pytest.raises(QuotaExceeded, match=r"API quota exceeded for this billing period\."):
        dev.record_usage(org_id=org_id, product=ANALYZE, key_id="k", request_id="x", now=NOV)
    quick = dev.record_usage(org_id=org_id, product=QUICK_INFO, key_id="k", request_id="q", now=NOV)
    assert (quick.included, quick.remaining) == (1000, 999)
    december = datetime(2026, 12, 1, tzinfo=UTC)
    fresh = dev.record_usage(
        org_id=org_id, product=ANALYZE, key_id="k", request_id="d", now=december
    )
    assert fresh.remaining == 99


def test_concurrent_callers_get_exactly_the_included_units(
    container: Container, org_id: str
) -> None:
    dev = container.developer
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(10)

    def client(n: int) -> None:
        start.wait()
        for i in range(15):
            try:
                dev.record_usage(
                    org_id=org_id, product=ANALYZE, key_id=f"k{n}", request_id=f"{n}-{i}", now=NOV
                )
                result = "ok"
            except QuotaExceeded:
                result = "402"
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 100 and outcomes.count("402") == 50
    meter = dev.meter(org_id, ANALYZE, "2026-11")
    assert meter is not None and meter.used == 100


def test_a_meter_is_snapshotted_as_saved_by_the_save_that_crosses_its_interval(
    container: Container, org_id: str
) -> None:
    """Every 500 events a meter is snapshotted from the object just saved, not read back and
    replayed: a batch of calls that crosses version 500 snapshots the version it saved, with
    the state a replay of the log gives; a load reads it and the calls after it."""
    dev = container.developer
    plan = PLANS["free"]
    meter = Meter.open(org_id=org_id, product=QUICK_INFO, period="2026-11", plan=plan)
    for batch in range(75):  # the opening event, then 75 saves of 7 calls: versions 2..526
        for i in range(7):
            meter.record(key_id="k", request_id=f"{batch}-{i}", plan=plan)
        dev.save(meter)
    assert dev.snapshots is not None
    snapshots = list(dev.snapshots.get(meter.id))
    assert [s.originator_version for s in snapshots] == [505]  # the save of versions 499..505
    replayed = dev.repository.get(meter.id, version=505)
    assert snapshots[0].state == Meter.Snapshot.take(replayed).state
    assert snapshots[0].state["used"] == 504
    assert dev.repository.get(meter.id).used == 525


def test_two_processes_counting_one_meter_stay_exact_up_to_the_hard_cap(
    container: Container, org_id: str
) -> None:
    """Each process keeps the meter it last saved; when the other one counted since, its
    save conflicts and it reads the meter afresh: no call is lost or counted twice, and the
    cap holds across both (on the in-memory store two apps share nothing: skipped there)."""
    if container.settings.database_url == "memory://":
        pytest.skip("two in-memory apps do not share a store")
    dev = container.developer
    other = type(dev)(env=container.settings.event_store_env("developer"))
    try:
        outcomes = []
        for i in range(110):
            app = (dev, other)[(i // 3) % 2]  # runs of three calls each, alternating
            try:
                app.record_usage(
                    org_id=org_id, product=ANALYZE, key_id="k", request_id=f"r{i}", now=NOV
                )
                outcomes.append("ok")
            except QuotaExceeded:
                outcomes.append("402")
        assert outcomes == ["ok"] * 100 + ["402"] * 10
        for app in (dev, other):
            meter = app.meter(org_id, ANALYZE, "2026-11")
            assert meter is not None and meter.used == 100
    finally:
        other.close()
