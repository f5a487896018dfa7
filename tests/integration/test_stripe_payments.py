"""Story: card payments through the official Stripe client against a real localstripe on
127.0.0.1: an intent opened in INR paise with our reference, paid with a test card, refunded
in part and in full; the webhooks localstripe itself signs and posts verify into events
payments act on, and anything tampered, stale, unsigned or signed with another secret is
refused. (What localstripe cannot do is listed in tests/support/localstripe.py.)
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import stripe
from pydantic import SecretStr

from application.ports import (
    CardIntent,
    PaymentProviderRefused,
    PaymentProviderUnavailable,
    WebhookRefused,
)
from domain.errors import Conflict, Unavailable
from infra.settings import Settings
from infra.stripe_payments import StripeCardPayments, card_payments
from tests.support.localstripe import (
    DECLINED_ON_CHARGE,
    Delivery,
    WebhookReceiver,
    card_payment_method,
    register_webhook,
)
from tests.support.postgres import free_port

API_KEY = "sk_test_fabledger_payments"
SECRET = "whsec_fabledger_payments_test"


class RecordingHTTPClient(stripe.RequestsClient):
    """The official client's own HTTP client, noting what each request carried."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str, dict[str, str], str]] = []

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> Any:
        body = post_data.decode() if isinstance(post_data, bytes) else (post_data or "")
        self.sent.append((method, url, dict(headers or {}), body))
        return super().request(method, url, headers, post_data)


@pytest.fixture(scope="module")
def receiver(localstripe_url: str) -> Iterator[WebhookReceiver]:
    """Our webhook endpoint, registered with localstripe for every event it sends."""
    with WebhookReceiver() as endpoint:
        register_webhook(localstripe_url, "fabledger", endpoint.url, SECRET)
        yield endpoint


@pytest.fixture
def http() -> RecordingHTTPClient:
    return RecordingHTTPClient()


@pytest.fixture
def payments(localstripe_url: str, http: RecordingHTTPClient) -> StripeCardPayments:
    return StripeCardPayments(
        API_KEY, SECRET, api_base=localstripe_url, http_client=http, max_network_retries=0
    )


@pytest.fixture(scope="module")
def stripe_api(localstripe_url: str) -> stripe.StripeClient:
    """The payer's side (Stripe.js in a browser): attaching a card and confirming."""
    return stripe.StripeClient(API_KEY, base_addresses={"api": localstripe_url})


def open_intent(payments: StripeCardPayments, reference: str, amount_paise: int) -> CardIntent:
    return payments.create_intent(
        amount_paise=amount_paise,
        reference=reference,
        description=f"fabledger order {reference}",
        idempotency_key=f"intent-{reference}",
    )


def pay(api: stripe.StripeClient, intent: CardIntent, card: str | None = None) -> None:
    """What the browser does with the client secret: a card on the intent, then confirm."""
    method = card_payment_method(api, card) if card else card_payment_method(api)
    api.v1.payment_intents.update(intent.intent_id, params={"payment_method": method})
    api.v1.payment_intents.confirm(intent.intent_id)


def delivered(receiver: WebhookReceiver, kind: str, intent_id: str) -> Delivery:
    def wanted(delivery: Delivery) -> bool:
        event = json.loads(delivery.body)
        return bool(event["type"] == kind and event["data"]["object"].get("id") == intent_id)

    return receiver.wait_for(wanted)


# --- intents and refunds ---------------------------------------------------------------


def test_an_intent_is_opened_in_inr_paise_with_our_reference_and_idempotency_key(
    payments: StripeCardPayments, http: RecordingHTTPClient, stripe_api: stripe.StripeClient
) -> None:
    intent = open_intent(payments, "PAY0001", 123456)

    assert intent.intent_id.startswith("pi_")
    assert intent.client_secret.startswith(f"{intent.intent_id}_secret_")
    assert intent.status == "requires_payment_method"
    held = stripe_api.v1.payment_intents.retrieve(intent.intent_id)
    assert (held.amount, held.currency, held.description) == (
        123456,
        "inr",
        "fabledger order PAY0001",
    )
    assert held.metadata is not None and held.metadata["reference"] == "PAY0001"
    method, url, headers, _ = http.sent[-1]
    assert (method, url) == ("post", f"{payments.api_base}/v1/payment_intents")
    assert headers["Idempotency-Key"] == "intent-PAY0001"


def test_the_intent_is_read_back_as_stripe_holds_it_before_and_after_payment(
    payments: StripeCardPayments, stripe_api: stripe.StripeClient
) -> None:
    opened = open_intent(payments, "PAY0002", 5000)
    assert payments.intent(opened.intent_id) == opened

    pay(stripe_api, opened)

    assert payments.intent(opened.intent_id) == CardIntent(
        opened.intent_id, opened.client_secret, "succeeded"
    )


def test_a_paid_intent_is_refunded_in_part_and_then_the_rest(
    payments: StripeCardPayments, http: RecordingHTTPClient, stripe_api: stripe.StripeClient
) -> None:
    intent = open_intent(payments, "PAY0003", 250000)
    pay(stripe_api, intent)

    first = payments.refund(intent_id=intent.intent_id, amount_paise=40000, idempotency_key="r-1")
    assert http.sent[-1][2]["Idempotency-Key"] == "r-1"
    rest = payments.refund(intent_id=intent.intent_id, amount_paise=210000, idempotency_key="r-2")

    assert first.startswith("re_") and rest.startswith("re_") and first != rest
    refunds = stripe_api.v1.refunds.list(params={"payment_intent": intent.intent_id})
    assert sorted((r.id, r.amount, r.currency) for r in refunds.data) == sorted(
        [(first, 40000, "inr"), (rest, 210000, "inr")]
    )
    charge = stripe_api.v1.charges.retrieve(refunds.data[0].charge)  # type: ignore[arg-type]
    assert (charge.amount_refunded, charge.refunded) == (250000, True)


def test_refunding_an_intent_that_was_never_paid_is_refused(
    payments: StripeCardPayments, stripe_api: stripe.StripeClient
) -> None:
    unpaid = open_intent(payments, "PAY0004", 5000)
    declined = open_intent(payments, "PAY0005", 5000)
    with pytest.raises(stripe.CardError, match="declined"):
        pay(stripe_api, declined, DECLINED_ON_CHARGE)

    for intent in (unpaid, declined):
        with pytest.raises(PaymentProviderRefused, match="Cannot refund") as refused:
            payments.refund(intent_id=intent.intent_id, amount_paise=5000, idempotency_key="x")
        assert isinstance(refused.value, Conflict)  # 409: a person has to look
    with pytest.raises(PaymentProviderRefused, match="404"):
        payments.intent("pi_unknown")


def test_stripe_refusing_our_key_is_an_outage_that_never_shows_the_key(
    localstripe_url: str,
) -> None:
    secret_key = "sk_" + "x"  # localstripe refuses keys this short
    payments = StripeCardPayments(secret_key, SECRET, localstripe_url, max_network_retries=0)
    with pytest.raises(PaymentProviderUnavailable, match="credentials") as raised:
        open_intent(payments, "PAY0006", 100)
    assert isinstance(raised.value, Unavailable)  # 503: retry later
    assert secret_key not in str(raised.value) and SECRET not in repr(payments)


def test_an_unreachable_stripe_is_an_outage() -> None:
    payments = StripeCardPayments(
        API_KEY, SECRET, f"http://127.0.0.1:{free_port()}", max_network_retries=0
    )
    with pytest.raises(PaymentProviderUnavailable, match="unavailable"):
        payments.refund(intent_id="pi_x", amount_paise=100, idempotency_key="r")


# --- webhooks that localstripe signs and posts -------------------------------------------


def test_a_succeeded_payment_webhook_verifies_with_our_reference_and_the_amount(
    payments: StripeCardPayments, receiver: WebhookReceiver, stripe_api: stripe.StripeClient
) -> None:
    intent = open_intent(payments, "PAY0101", 123456)
    pay(stripe_api, intent)

    hook = delivered(receiver, "payment_intent.succeeded", intent.intent_id)
    event = payments.verify(hook.body, hook.signature)

    assert event.event_id.startswith("evt_") and event.event_id == json.loads(hook.body)["id"]
    assert (event.type, event.intent_id, event.reference) == (
        "payment_intent.succeeded",
        intent.intent_id,
        "PAY0101",
    )
    assert (event.amount_paise, event.failure) == (123456, None)


def test_a_declined_card_webhook_carries_stripes_reason(
    payments: StripeCardPayments, receiver: WebhookReceiver, stripe_api: stripe.StripeClient
) -> None:
    intent = open_intent(payments, "PAY0102", 7700)
    with pytest.raises(stripe.CardError):
        pay(stripe_api, intent, DECLINED_ON_CHARGE)

    hook = delivered(receiver, "payment_intent.payment_failed", intent.intent_id)
    event = payments.verify(hook.body, hook.signature)

    assert (event.type, event.intent_id, event.reference) == (
        "payment_intent.payment_failed",
        intent.intent_id,
        "PAY0102",
    )
    assert (event.amount_paise, event.failure) == (0, "Your card was declined.")


def test_events_of_other_kinds_carry_only_their_id_and_type(
    payments: StripeCardPayments, receiver: WebhookReceiver, stripe_api: stripe.StripeClient
) -> None:
    customer = stripe_api.v1.customers.create(params={"name": "Acme"})

    def wanted(delivery: Delivery) -> bool:
        return bool(json.loads(delivery.body)["data"]["object"]["id"] == customer.id)

    hook = receiver.wait_for(wanted)
    event = payments.verify(hook.body, hook.signature)

    assert event.type == "customer.created"
    assert (event.intent_id, event.amount_paise, event.reference, event.failure) == (
        None,
        None,
        None,
        None,
    )


def test_a_refund_event_names_the_intent_and_everything_refunded_so_far(
    payments: StripeCardPayments, stripe_api: stripe.StripeClient
) -> None:
    # localstripe sends no charge.refunded: sign Stripe's event around the charge it holds.
    intent = open_intent(payments, "PAY0103", 9900)
    pay(stripe_api, intent)
    payments.refund(intent_id=intent.intent_id, amount_paise=900, idempotency_key="r-103")
    charge = stripe_api.v1.refunds.list(params={"payment_intent": intent.intent_id}).data[0].charge
    held = stripe_api.v1.charges.retrieve(str(charge)).to_dict()
    body = json.dumps(
        {
            "id": "evt_refund_103",
            "object": "event",
            "type": "charge.refunded",
            "data": {"object": held},
        }
    )

    event = payments.verify(body.encode(), signed(body))

    assert (event.event_id, event.type, event.intent_id) == (
        "evt_refund_103",
        "charge.refunded",
        intent.intent_id,
    )
    assert (event.amount_paise, event.failure) == (900, None)


def signed(body: str, *, secret: str = SECRET, at: int | None = None) -> str:
    """A Stripe-Signature header for the body, made the way Stripe makes it."""
    return str(stripe.WebhookSignature.generate_signature_header(body, secret, at))


def test_anything_but_a_fresh_body_signed_with_our_secret_is_refused(
    payments: StripeCardPayments,
    localstripe_url: str,
    receiver: WebhookReceiver,
    stripe_api: stripe.StripeClient,
) -> None:
    intent = open_intent(payments, "PAY0104", 4200)
    pay(stripe_api, intent)
    hook = delivered(receiver, "payment_intent.succeeded", intent.intent_id)
    body = hook.body.decode()
    assert payments.verify(hook.body, hook.signature).amount_paise == 4200
    assert payments.verify(hook.body, signed(body)).amount_paise == 4200  # as Stripe signs

    tampered = hook.body.replace(b'"amount_received": 4200', b'"amount_received": 420000')
    assert tampered != hook.body
    other_secret = StripeCardPayments(API_KEY, "whsec_someone_else", localstripe_url)
    stale = signed(body, at=int(time.time()) - 600)  # Stripe's tolerance is 5 minutes
    refusals = [
        (payments, tampered, hook.signature, "did not verify"),
        (other_secret, hook.body, hook.signature, "did not verify"),
        (payments, hook.body, "", "No Stripe-Signature header"),
        (payments, hook.body, stale, "Timestamp outside the tolerance zone"),
        (payments, hook.body, "t=soon,v1=abc", "Unable to extract timestamp"),
        (payments, hook.body, hook.signature.replace("v1=", "v0="), "No signatures found"),
        (payments, b"\xff\xfe not utf-8", signed("x"), "not a Stripe event"),
        (payments, b"[]", signed("[]"), "not a Stripe event"),
        (payments, b'{"object": "event"}', signed('{"object": "event"}'), "no id or type"),
        (StripeCardPayments(API_KEY, "", localstripe_url), hook.body, hook.signature, "no Stripe"),
    ]
    for verifier, payload, header, reason in refusals:
        with pytest.raises(WebhookRefused, match=reason) as refused:
            verifier.verify(payload, header)
        assert SECRET not in str(refused.value) and "whsec_" not in str(refused.value)


# --- configuration -----------------------------------------------------------------------


def test_card_payments_are_built_from_the_settings_only_with_an_api_key(
    monkeypatch: pytest.MonkeyPatch, localstripe_url: str
) -> None:
    assert card_payments(Settings(stripe_api_key=SecretStr(""))) is None

    monkeypatch.setenv("FABLEDGER_STRIPE_API_KEY", API_KEY)
    monkeypatch.setenv("FABLEDGER_STRIPE_API_BASE", localstripe_url)
    monkeypatch.setenv("FABLEDGER_STRIPE_WEBHOOK_SECRET", SECRET)
    settings = Settings()
    built = card_payments(settings)

    assert isinstance(built, StripeCardPayments) and built.api_base == localstripe_url
    assert SECRET not in repr(settings) and API_KEY not in repr(built)
    body = '{"id": "evt_1", "object": "event", "type": "payout.paid", "data": {"object": {}}}'
    assert built.verify(body.encode(), signed(body)).type == "payout.paid"
