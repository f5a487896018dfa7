"""The Stripe adapter through the official client: customers against a real localstripe
server on 127.0.0.1, meter events against the rule-enforcing fake HTTP client.
"""

from __future__ import annotations

import time

import pytest
import stripe

from application.billing import BillingRefused, BillingUnavailable
from application.ports import UsageReport
from infra.stripe_billing import StripeBilling
from tests.support.postgres import free_port
from tests.support.stripe_fakes import DAY, FakeStripe, FakeStripeHTTPClient

API_KEY = "sk_test_fabledger_integration"


@pytest.fixture
def fake() -> FakeStripe:
    return FakeStripe()


@pytest.fixture
def http(fake: FakeStripe) -> FakeStripeHTTPClient:
    return FakeStripeHTTPClient(fake)


@pytest.fixture
def billing(http: FakeStripeHTTPClient) -> StripeBilling:
    return StripeBilling(API_KEY, http_client=http, max_network_retries=0)


def report(identifier: str = "m-1-30", *, units: int = 30, at: float | None = None) -> UsageReport:
    return UsageReport(
        event_name="fabledger_dfm_analyze",
        customer_id="cus_acme",
        units=units,
        identifier=identifier,
        timestamp=int(time.time() if at is None else at),
    )


# --- customers, against localstripe --------------------------------------------------------


def test_a_customer_is_created_in_stripe_with_the_org_id(localstripe_url: str) -> None:
    gateway = StripeBilling(API_KEY, api_base=localstripe_url)

    customer_id = gateway.create_customer(org_id="org-1", name="Acme", email="ops@acme.test")

    assert customer_id.startswith("cus_")
    client = stripe.StripeClient(API_KEY, base_addresses={"api": localstripe_url})
    customer = client.v1.customers.retrieve(customer_id)
    assert (customer.name, customer.email) == ("Acme", "ops@acme.test")
    assert customer.metadata is not None and customer.metadata["org_id"] == "org-1"


def test_stripe_refusing_our_key_is_an_outage_and_never_shows_the_key(
    localstripe_url: str,
) -> None:
    secret = "sk_" + "x"  # localstripe refuses keys this short
    gateway = StripeBilling(secret, api_base=localstripe_url, max_network_retries=0)
    with pytest.raises(BillingUnavailable) as raised:
        gateway.create_customer(org_id="org-2", name="Acme", email=None)
    assert secret not in str(raised.value) and secret not in repr(gateway)


def test_an_unreachable_stripe_is_an_outage() -> None:
    gateway = StripeBilling(
        API_KEY, api_base=f"http://127.0.0.1:{free_port()}", max_network_retries=0
    )
    with pytest.raises(BillingUnavailable, match="unavailable"):
        gateway.create_customer(org_id="org-3", name="Acme", email=None)


# --- meter events, through the official client and the fake HTTP client -------------------


def test_a_meter_event_is_accepted_with_its_identifier_units_and_customer(
    billing: StripeBilling, fake: FakeStripe, http: FakeStripeHTTPClient
) -> None:
    assert billing.report_usage(report()) is True

    [event] = fake.accepted
    assert (event.event_name, event.customer_id, event.value) == (
        "fabledger_dfm_analyze",
        "cus_acme",
        30,
    )
    assert event.identifier == "m-1-30"
    method, url, headers = http.requests[-1]
    assert (method, url) == ("post", "https://api.stripe.com/v1/billing/meter_events")
    assert headers["Idempotency-Key"]


def test_a_reused_identifier_is_reported_as_already_delivered(
    billing: StripeBilling, fake: FakeStripe
) -> None:
    assert billing.report_usage(report()) is True
    assert billing.report_usage(report()) is False
    assert fake.duplicates == ["m-1-30"]
    assert fake.units_by_identifier() == {"m-1-30": 30}


def test_an_identifier_is_unique_for_24_hours_only() -> None:
    now = [time.time()]
    fake = FakeStripe(clock=lambda: now[0])
    billing = StripeBilling(API_KEY, http_client=FakeStripeHTTPClient(fake), max_network_retries=0)
    assert billing.report_usage(report(at=now[0])) is True
    now[0] += DAY + 1
    assert billing.report_usage(report(at=now[0])) is True  # Stripe forgot it: billed again
    assert len(fake.accepted) == 2


def test_timestamps_outside_stripes_window_are_refused(
    billing: StripeBilling, fake: FakeStripe
) -> None:
    with pytest.raises(BillingRefused, match="timestamp_too_far_in_past"):
        billing.report_usage(report(at=time.time() - 36 * DAY))
    with pytest.raises(BillingRefused, match="timestamp_in_future"):
        billing.report_usage(report(at=time.time() + 600))
    assert billing.report_usage(report(at=time.time() - 34 * DAY)) is True
    assert [e.identifier for e in fake.accepted] == ["m-1-30"]


def test_an_unknown_meter_or_a_missing_customer_is_refused(billing: StripeBilling) -> None:
    with pytest.raises(BillingRefused, match="no_meter"):
        billing.report_usage(
            UsageReport("fabledger_unknown", "cus_acme", 1, "x-1-1", int(time.time()))
        )
    with pytest.raises(BillingRefused, match="meter_event_no_customer_defined"):
        billing.report_usage(UsageReport("fabledger_dfm_analyze", "", 1, "x-1-1", int(time.time())))


def test_the_fake_refuses_a_value_that_is_not_a_whole_number(http: FakeStripeHTTPClient) -> None:
    client = stripe.StripeClient(API_KEY, http_client=http, max_network_retries=0)
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.billing.meter_events.create(
            params={
                "event_name": "fabledger_dfm_analyze",
                "payload": {"stripe_customer_id": "cus_acme", "value": "1.5"},
            }
        )
    assert raised.value.code == "meter_event_invalid_value"


def test_server_errors_are_outages_and_a_lost_answer_is_retried_under_the_same_key(
    fake: FakeStripe, http: FakeStripeHTTPClient
) -> None:
    fake.faults.append(500)
    no_retries = StripeBilling(API_KEY, http_client=http, max_network_retries=0)
    with pytest.raises(BillingUnavailable, match="500"):
        no_retries.report_usage(report())
    assert fake.accepted == []

    # Stripe stored the event but the answer was lost: the client retries with the same
    # Idempotency-Key and Stripe replays its first answer instead of refusing a duplicate.
    http.drops.append(True)
    retrying = StripeBilling(API_KEY, http_client=http, max_network_retries=1)
    assert retrying.report_usage(report()) is True
    assert fake.units_by_identifier() == {"m-1-30": 30} and fake.duplicates == []
    keys = [headers["Idempotency-Key"] for _, _, headers in http.requests[-2:]]
    assert keys[0] == keys[1]
