"""Story: a starter organisation goes over its included units and is billed exactly once.

The billing gateway is the real Stripe adapter on the official client, with an injected
HTTP client that plays Stripe's meter-event rules. Runs on memory, SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from application.billing import BillingReporter
from domain.meters import meter_id_for
from domain.plans import ANALYZE, QUICK_INFO
from infra.bootstrap import Container
from infra.stripe_billing import StripeBilling
from projections.usage import key_last_used, meters_with_unreported_overage, usage_for_org
from tests.support.stripe_fakes import FakeStripe, FakeStripeHTTPClient
from workers.billing import ProjectedCounters

NOW = datetime.now(UTC)
PERIOD = f"{NOW.year:04d}-{NOW.month:02d}"


@pytest.fixture
def stripe_fake() -> FakeStripe:
    return FakeStripe()


@pytest.fixture
def http(stripe_fake: FakeStripe) -> FakeStripeHTTPClient:
    return FakeStripeHTTPClient(stripe_fake)


@pytest.fixture
def reporter(container: Container, http: FakeStripeHTTPClient) -> BillingReporter:
    # No network retries: a refused or failed request shows at once, without back-off sleeps.
    gateway = StripeBilling("sk_test_fabledger", http_client=http, max_network_retries=0)
    container.developer.billing = gateway
    return BillingReporter(container.developer, gateway, ProjectedCounters(container.views))


@pytest.fixture
def org_id(container: Container, reporter: BillingReporter) -> str:
    dev = container.developer
    org = dev.create_org(name="Acme Robotics", owner_id="u-owner")
    dev.change_plan(str(org.id), "starter", actor_id="u-owner", email="billing@acme.test")
    return str(org.id)


def use(container: Container, org_id: str, product: str, calls: int, key: str = "k1") -> None:
    for i in range(calls):
        container.developer.record_usage(
            org_id=org_id, product=product, key_id=key, request_id=f"{key}-{product}-{i}", now=NOW
        )


def due(container: Container) -> list[str]:
    """What the worker would look at: meters the usage view says may owe a report."""
    container.projections["usage"].catch_up()
    with container.views.reading() as cur:
        return meters_with_unreported_overage(cur)


def test_overage_is_reported_once_however_often_the_reporter_runs(
    container: Container, reporter: BillingReporter, stripe_fake: FakeStripe, org_id: str
) -> None:
    use(container, org_id, ANALYZE, 130)
    use(container, org_id, QUICK_INFO, 5)
    analyze = str(meter_id_for(org_id, ANALYZE, PERIOD))
    assert due(container) == [analyze]

    [report] = reporter.report_pending(due(container))
    assert (report.event_name, report.units) == ("fabledger_dfm_analyze", 30)
    assert report.identifier == f"{analyze}-1-30"
    org = container.developer.get_org(org_id)
    assert report.customer_id == org.billing_customer_id
    assert abs(report.timestamp - time.time()) < 600
    assert reporter.report_pending(due(container)) == []
    assert reporter.report_pending([analyze]) == []  # even when asked directly

    use(container, org_id, ANALYZE, 7, key="k2")
    [later] = reporter.report_pending(due(container))
    assert (later.identifier, later.units) == (f"{analyze}-31-37", 7)
    assert stripe_fake.units_by_identifier() == {report.identifier: 30, later.identifier: 7}
    meter = container.developer.meter(org_id, ANALYZE, PERIOD)
    assert meter is not None and meter.reported_units == meter.overage == 37
    container.projections["usage"].catch_up()
    assert reporter.replay(org_id, PERIOD).ok


def test_a_crash_after_stripe_accepted_resends_the_same_identifier_and_confirms(
    container: Container, reporter: BillingReporter, stripe_fake: FakeStripe, org_id: str
) -> None:
    use(container, org_id, ANALYZE, 120)
    [meter_id] = due(container)
    prepared = reporter.prepare(meter_id)
    assert prepared is not None and prepared.units == 20
    assert reporter.gateway is not None and reporter.gateway.report_usage(prepared) is True
    # ... the process dies here, before confirm; calls keep coming meanwhile.
    use(container, org_id, ANALYZE, 5, key="k2")

    delivered = reporter.report_pending(due(container))

    assert [(r.identifier, r.units) for r in delivered] == [
        (prepared.identifier, 20),  # the same identifier and units, not a new report
        (f"{meter_id}-21-25", 5),
    ]
    assert stripe_fake.duplicates == [prepared.identifier]  # Stripe: "already exists"
    assert sum(stripe_fake.units_by_identifier().values()) == 25
    meter = container.developer.meter(org_id, ANALYZE, PERIOD)
    assert meter is not None and meter.reported_units == meter.overage == 25
    assert meter.pending_identifier is None


def test_a_crash_before_sending_sends_the_prepared_report_next_time(
    container: Container, reporter: BillingReporter, stripe_fake: FakeStripe, org_id: str
) -> None:
    use(container, org_id, ANALYZE, 103)
    [meter_id] = due(container)
    prepared = reporter.prepare(meter_id)
    assert prepared is not None  # the outbox event is saved; nothing was sent

    [sent] = reporter.report_pending(due(container))

    assert sent == prepared
    assert stripe_fake.duplicates == []
    assert stripe_fake.units_by_identifier() == {prepared.identifier: 3}


def test_when_stripe_is_down_the_report_waits_with_its_identifier(
    container: Container, reporter: BillingReporter, stripe_fake: FakeStripe, org_id: str
) -> None:
    use(container, org_id, ANALYZE, 101)
    use(container, org_id, QUICK_INFO, 1001)
    stripe_fake.faults.extend([503])

    assert reporter.report_pending(due(container)) == []  # the round stops at the outage

    pending = [container.developer.meter(org_id, p, PERIOD) for p in (ANALYZE, QUICK_INFO)]
    waiting = [m.pending_identifier for m in pending if m is not None and m.pending_identifier]
    assert len(waiting) == 1
    delivered = reporter.report_pending(due(container))
    assert waiting[0] in {r.identifier for r in delivered}
    assert sorted(stripe_fake.units_by_identifier().values()) == [1, 1]


def test_a_free_organisation_is_never_billed(
    container: Container, reporter: BillingReporter, stripe_fake: FakeStripe
) -> None:
    org = container.developer.create_org(name="Hobby", owner_id="u-free")
    use(container, str(org.id), ANALYZE, 100)
    assert due(container) == []
    assert reporter.prepare(meter_id_for(str(org.id), ANALYZE, PERIOD)) is None
    assert stripe_fake.accepted == []


def test_replay_recomputes_usage_and_reports_each_difference(
    container: Container, reporter: BillingReporter, org_id: str
) -> None:
    use(container, org_id, ANALYZE, 110)
    use(container, org_id, QUICK_INFO, 40)
    reporter.report_pending(due(container))
    use(container, org_id, ANALYZE, 2)
    container.projections["usage"].catch_up()

    result = reporter.replay(org_id, PERIOD)

    by_product = {p.product: p for p in result.products}
    analyze, quick = by_product[ANALYZE], by_product[QUICK_INFO]
    assert (analyze.used, analyze.included, analyze.overage, analyze.reported) == (112, 100, 12, 10)
    assert (quick.used, quick.overage, quick.reported) == (40, 0, 0)
    assert analyze.events == 1 + 112 + 2  # Opened, usage, ReportPrepared + OverageReported
    assert result.differences == ["analyze: 2 overage units not reported"]

    reporter.report_pending(due(container))
    with container.views.transaction() as cur:  # a live counter that drifted from the log
        cur.execute("UPDATE usage_counters SET used = used + 1 WHERE product = ?", (QUICK_INFO,))
    container.projections["usage"].catch_up()
    assert reporter.replay(org_id, PERIOD).differences == [
        "quick_info: used: replayed 40, live counter 41"
    ]


def test_the_usage_view_counts_per_meter_and_shows_when_each_key_was_last_used(
    container: Container, reporter: BillingReporter, org_id: str
) -> None:
    use(container, org_id, ANALYZE, 3, key="ka")
    use(container, org_id, QUICK_INFO, 2, key="kb")
    use(container, org_id, QUICK_INFO, 1, key="ka")
    container.projections["usage"].catch_up()

    with container.views.reading() as cur:
        rows = usage_for_org(cur, org_id, PERIOD)
        keys = key_last_used(cur, ["ka", "kb", "never"])

    assert [(r["product"], r["used"], r["included"], r["tier"]) for r in rows] == [
        (ANALYZE, 3, 100, "starter"),
        (QUICK_INFO, 3, 1000, "starter"),
    ]
    assert {k: calls for k, (_, calls) in keys.items()} == {"ka": 4, "kb": 2}
    assert keys["ka"][0] >= keys["kb"][0]


def test_an_upgrade_mid_period_reprices_the_meter_in_the_view_and_the_replay(
    container: Container, reporter: BillingReporter, org_id: str
) -> None:
    use(container, org_id, ANALYZE, 120)
    [billed] = reporter.report_pending(due(container))
    container.developer.change_plan(org_id, "pro", actor_id="u-owner", email=None)
    use(container, org_id, ANALYZE, 1, key="k2")  # the next call applies the new plan
    container.projections["usage"].catch_up()

    with container.views.reading() as cur:
        [row] = usage_for_org(cur, org_id, PERIOD)
    assert (row["tier"], row["included"], row["used"], row["overage"]) == ("pro", 5000, 121, 0)
    assert due(container) == []
    result = reporter.replay(org_id, PERIOD)
    [analyze] = [p for p in result.products if p.product == ANALYZE]
    assert (analyze.included, analyze.overage, analyze.reported) == (5000, 0, billed.units)
    # Units billed before the upgrade are now above the meter's overage: an auditor looks.
    assert result.differences == ["analyze: reported 20 units, overage is 0"]
