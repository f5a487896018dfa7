"""Story: a customer pays by card through Stripe (a real localstripe on 127.0.0.1) — the
intent from our API, the card confirmed as Stripe.js would, the webhook that localstripe
signs posted to our endpoint — and a cancelled paid order is refunded through Stripe."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import stripe
from fastapi.testclient import TestClient

from tests.support.http import Account, app_settings, error_of, place_order, register, running_app
from tests.support.http import staff as staff_account
from tests.support.localstripe import (
    DECLINED_ON_CHARGE,
    Delivery,
    WebhookReceiver,
    card_payment_method,
    register_webhook,
)

API_KEY = "sk_test_fabledger_checkout"
SECRET = "whsec_fabledger_checkout_test"
WEBHOOK = "/api/payments/stripe/webhook"


@pytest.fixture(scope="module")
def receiver(localstripe_url: str) -> Iterator[WebhookReceiver]:
    """Catches what localstripe signs, to post it to the app as Stripe would."""
    with WebhookReceiver() as endpoint:
        register_webhook(localstripe_url, "fabledger-checkout", endpoint.url, SECRET)
        yield endpoint


@pytest.fixture(scope="module")
def shop(localstripe_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = app_settings(
        Path(tmp_path_factory.mktemp("stripe-shop")),
        stripe_api_key=API_KEY,
        stripe_api_base=localstripe_url,
        stripe_webhook_secret=SECRET,
    )
    with running_app(settings) as client:
        yield client


@pytest.fixture(scope="module")
def payer(localstripe_url: str) -> stripe.StripeClient:
    """The browser's side: Stripe.js attaching a card and confirming the intent."""
    return stripe.StripeClient(API_KEY, base_addresses={"api": localstripe_url})


def _card_intent(shop: TestClient, account: Account, order: dict[str, Any]) -> dict[str, Any]:
    payment = shop.get(f"/api/user/orders/{order['id']}/payment", headers=account.auth).json()
    assert payment["card_payments"] is True
    response = shop.post(f"/api/user/payments/{payment['id']}/card", headers=account.auth)
    assert response.status_code == 200, response.text
    intent: dict[str, Any] = {**response.json(), "payment_id": payment["id"]}
    assert intent["client_secret"].startswith(intent["intent_id"])
    return intent


def _pay(payer: stripe.StripeClient, intent_id: str, card: str | None = None) -> None:
    method = card_payment_method(payer, card) if card else card_payment_method(payer)
    payer.v1.payment_intents.update(intent_id, params={"payment_method": method})
    with contextlib.suppress(stripe.CardError):  # a declined card: the webhook says so
        payer.v1.payment_intents.confirm(intent_id)


def _delivered(receiver: WebhookReceiver, kind: str, intent_id: str) -> Delivery:
    def wanted(delivery: Delivery) -> bool:
        event = json.loads(delivery.body)
        return bool(event["type"] == kind and event["data"]["object"].get("id") == intent_id)

    return receiver.wait_for(wanted)


def _post(shop: TestClient, delivery: Delivery, body: bytes | None = None) -> Any:
    headers = {"Stripe-Signature": delivery.signature, "content-type": "application/json"}
    return shop.post(WEBHOOK, content=body or delivery.body, headers=headers)


def _settle(shop: TestClient) -> None:
    for flow in ("refund_flow", "payment_flow"):
        shop.app.state.container.flows[flow].catch_up()  # type: ignore[attr-defined]


def _payment_events(shop: TestClient, payment_id: str) -> list[str]:
    app = shop.app.state.container.payments.app  # type: ignore[attr-defined]
    return [type(e).__name__ for e in app.events.get(UUID(payment_id))]


def test_a_card_payment_confirms_the_order_once_and_a_replay_changes_nothing(
    shop: TestClient, payer: stripe.StripeClient, receiver: WebhookReceiver
) -> None:
    customer = register(shop, "cardholder")
    order = place_order(shop, customer)
    intent = _card_intent(shop, customer, order)
    again = _card_intent(shop, customer, order)
    assert again["intent_id"] == intent["intent_id"]  # one open intent per payment

    _pay(payer, intent["intent_id"])
    delivery = _delivered(receiver, "payment_intent.succeeded", intent["intent_id"])
    tampered = delivery.body.replace(b'"amount_received": ', b'"amount_received": 1')
    error_of(_post(shop, delivery, tampered), 400)
    assert "Received" not in _payment_events(shop, intent["payment_id"])

    first = _post(shop, delivery)
    assert first.status_code == 200 and first.json() == {"received": True, "duplicate": False}
    _settle(shop)
    events = _payment_events(shop, intent["payment_id"])
    assert _post(shop, delivery).json() == {"received": True, "duplicate": True}
    _settle(shop)
    assert _payment_events(shop, intent["payment_id"]) == events
    assert events.count("Received") == 1 and events.count("InvoiceIssued") == 1

    mine = shop.get(f"/api/user/orders/{order['id']}", headers=customer.auth).json()
    assert (mine["status"], mine["is_paid"]) == ("confirmed", True)
    error_of(
        shop.post(f"/api/user/payments/{intent['payment_id']}/card", headers=customer.auth), 409
    )


def test_a_declined_card_is_recorded_and_the_order_waits(
    shop: TestClient, payer: stripe.StripeClient, receiver: WebhookReceiver
) -> None:
    customer = register(shop, "declined")
    order = place_order(shop, customer)
    intent = _card_intent(shop, customer, order)
    _pay(payer, intent["intent_id"], DECLINED_ON_CHARGE)
    delivery = _delivered(receiver, "payment_intent.payment_failed", intent["intent_id"])
    assert _post(shop, delivery).status_code == 200
    assert "CardFailed" in _payment_events(shop, intent["payment_id"])
    mine = shop.get(f"/api/user/orders/{order['id']}", headers=customer.auth).json()
    assert (mine["status"], mine["is_paid"]) == ("pending", False)


def test_cancelling_a_card_paid_order_refunds_it_through_stripe(
    shop: TestClient, payer: stripe.StripeClient, receiver: WebhookReceiver
) -> None:
    customer = register(shop, "refunded")
    admin = staff_account(shop, "admin", "cashier")
    order = place_order(shop, customer)
    intent = _card_intent(shop, customer, order)
    _pay(payer, intent["intent_id"])
    _post(shop, _delivered(receiver, "payment_intent.succeeded", intent["intent_id"]))
    _settle(shop)
    cancelled = shop.patch(
        f"/api/admin/orders/{order['id']}/status", headers=admin.auth, json={"status": "cancelled"}
    )
    assert cancelled.status_code == 200, cancelled.text
    _settle(shop)
    _settle(shop)

    payment = shop.get(f"/api/user/orders/{order['id']}/payment", headers=customer.auth).json()
    [refund] = payment["refunds"]
    assert refund["key"] == order["id"] and refund["amount_paise"] == payment["amount_due_paise"]
    assert refund["reference"].startswith("re_")
    held = payer.v1.refunds.retrieve(refund["reference"])
    assert held.amount == payment["amount_due_paise"] and held.payment_intent == intent["intent_id"]
