"""The CardPayments port on Stripe: PaymentIntents in INR, refunds, and signed webhooks, via
the official client.

Amounts are paise both sides: Stripe counts INR in its smallest unit, the paisa. Every
create sends our idempotency key, so a retry after a lost answer gets the first intent or
refund back instead of a second one. Webhooks are verified on the raw body with Stripe's
own signature check (HMAC-SHA256 of "<t>.<body>", 5 minutes' tolerance) before anything is
read from them.
"""

from __future__ import annotations

from typing import Any

import stripe

from application.ports import (
    CardIntent,
    PaymentProviderRefused,
    PaymentProviderUnavailable,
    ProviderEvent,
    WebhookRefused,
)
from infra.settings import Settings
from infra.stripe_billing import describe_error, is_credentials_error, is_outage, stripe_client

CURRENCY = "inr"
REFERENCE_KEY = "reference"  # the intent's metadata key holding our payment reference
INTENT_EVENTS = "payment_intent."  # each carries the PaymentIntent as data.object
REFUNDED = "charge.refunded"  # carries the Charge, naming its intent


class StripeCardPayments:
    """Card payments through Stripe; neither the API key nor the webhook secret leaves it."""

    def __init__(
        self,
        api_key: str,
        webhook_secret: str,
        api_base: str | None = None,
        http_client: stripe.HTTPClient | None = None,
        *,
        max_network_retries: int = 2,
    ) -> None:
        self._client = stripe_client(
            api_key, api_base, http_client, max_network_retries=max_network_retries
        )
        self._webhook_secret = webhook_secret
        self.api_base = api_base

    def __repr__(self) -> str:
        return f"StripeCardPayments(api_base={self.api_base!r})"  # no secrets: reprs get logged

    def create_intent(
        self, *, amount_paise: int, reference: str, description: str, idempotency_key: str
    ) -> CardIntent:
        """Open a PaymentIntent for the amount in INR paise, tagged with our reference."""
        try:
            intent = self._client.v1.payment_intents.create(
                params={
                    "amount": amount_paise,
                    "currency": CURRENCY,
                    "description": description,
                    "metadata": {REFERENCE_KEY: reference},
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            raise _translate(error, f"opening a payment intent for {reference}") from None
        return _card_intent(intent)

    def intent(self, intent_id: str) -> CardIntent:
        """The intent as Stripe holds it now (to hand its secret to the payer again)."""
        try:
            intent = self._client.v1.payment_intents.retrieve(intent_id)
        except stripe.StripeError as error:
            raise _translate(error, f"reading payment intent {intent_id}") from None
        return _card_intent(intent)

    def refund(self, *, intent_id: str, amount_paise: int, idempotency_key: str) -> str:
        """Refund part or all of a succeeded intent; Stripe's refund id (re_...)."""
        try:
            refund = self._client.v1.refunds.create(
                params={"payment_intent": intent_id, "amount": amount_paise},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as error:
            raise _translate(error, f"refunding payment intent {intent_id}") from None
        return str(refund.id)

    def verify(self, payload: bytes, signature_header: str) -> ProviderEvent:
        """The event a signed webhook body carries; WebhookRefused if it does not verify."""
        if not self._webhook_secret:
            raise WebhookRefused("no Stripe webhook secret is configured")
        try:
            event = self._client.construct_event(
                payload, signature_header or None, self._webhook_secret
            )
        except stripe.SignatureVerificationError as error:
            # Stripe's messages name the header and timestamp only, never the secret.
            raise WebhookRefused(f"Stripe-Signature did not verify: {error.user_message}") from None
        except (ValueError, TypeError, AttributeError):  # not UTF-8, not JSON, not an object
            raise WebhookRefused("the body is not a Stripe event") from None
        return provider_event(event.to_dict())


def provider_event(event: dict[str, Any]) -> ProviderEvent:
    """A verified Stripe event reduced to what payments act on; WebhookRefused if it has no
    id or type. Events other than a PaymentIntent's or a refund carry only their id and type.

    payment_intent.*: the intent, our reference, amount_received and the last error's message;
    charge.refunded: the charge's intent and the amount refunded so far (all refunds).
    """
    event_id, kind = event.get("id"), event.get("type")
    if not isinstance(event_id, str) or not event_id or not isinstance(kind, str) or not kind:
        raise WebhookRefused("the event has no id or type")
    data = event.get("data")
    thing = data.get("object") if isinstance(data, dict) else None
    if not isinstance(thing, dict) or not (kind.startswith(INTENT_EVENTS) or kind == REFUNDED):
        return ProviderEvent(event_id, kind, None, None, None, None)
    metadata = thing.get("metadata")
    reference = metadata.get(REFERENCE_KEY) if isinstance(metadata, dict) else None
    if kind == REFUNDED:
        intent_id, amount = thing.get("payment_intent"), thing.get("amount_refunded")
        failure = None
    else:
        intent_id, amount = thing.get("id"), thing.get("amount_received")
        error = thing.get("last_payment_error")
        failure = error.get("message") if isinstance(error, dict) else None
    return ProviderEvent(
        event_id=event_id,
        type=kind,
        intent_id=intent_id if isinstance(intent_id, str) else None,
        amount_paise=amount if isinstance(amount, int) and not isinstance(amount, bool) else None,
        reference=reference if isinstance(reference, str) else None,
        failure=failure if isinstance(failure, str) else None,
    )


def card_payments(settings: Settings) -> StripeCardPayments | None:
    """Stripe card payments when an API key is configured, else None (card payments off)."""
    api_key = settings.stripe_api_key.get_secret_value()
    if not api_key:
        return None
    return StripeCardPayments(
        api_key,
        settings.stripe_webhook_secret.get_secret_value(),
        settings.stripe_api_base or None,
    )


def _card_intent(intent: stripe.PaymentIntent) -> CardIntent:
    return CardIntent(
        intent_id=str(intent.id),
        client_secret=str(intent.client_secret or ""),
        status=str(intent.status),
    )


def _translate(
    error: stripe.StripeError, doing: str
) -> PaymentProviderUnavailable | PaymentProviderRefused:
    """Our error for Stripe's: retryable outages vs refusals (never a key or a secret)."""
    if is_credentials_error(error):
        return PaymentProviderUnavailable(f"Stripe refused our credentials while {doing}")
    if is_outage(error):
        return PaymentProviderUnavailable(
            f"Stripe is unavailable while {doing}: {describe_error(error)}"
        )
    return PaymentProviderRefused(f"Stripe refused {doing}: {describe_error(error)}")
