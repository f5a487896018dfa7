"""The BillingGateway port on Stripe (customers, Billing Meter events) via the official client."""

from __future__ import annotations

import stripe

from application.billing import BillingRefused, BillingUnavailable
from application.ports import UsageReport

# Stripe answers a reused meter-event identifier with HTTP 400, type invalid_request_error,
# and this message; it sends no error code for it, so the message prefix (plus the
# identifier itself) is the only signal. Anything else stays an error.
DUPLICATE_IDENTIFIER = "An event already exists with identifier"


def stripe_client(
    api_key: str,
    api_base: str | None = None,
    http_client: stripe.HTTPClient | None = None,
    *,
    max_network_retries: int = 2,
) -> stripe.StripeClient:
    """The official client on Stripe's API, or on another address (localstripe in tests)."""
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base} if api_base else None,
        http_client=http_client,
        max_network_retries=max_network_retries,
    )


class StripeBilling:
    """Creates customers and reports metered usage; the API key never leaves the client."""

    def __init__(
        self,
        api_key: str,
        api_base: str | None = None,
        http_client: stripe.HTTPClient | None = None,
        *,
        max_network_retries: int = 2,
    ) -> None:
        self._client = stripe_client(
            api_key, api_base, http_client, max_network_retries=max_network_retries
        )
        self.api_base = api_base

    def __repr__(self) -> str:
        return f"StripeBilling(api_base={self.api_base!r})"  # no key: reprs end up in logs

    def create_customer(self, *, org_id: str, name: str, email: str | None) -> str:
        """A Stripe customer for the organisation (idempotent per organisation for 24 h)."""
        params: stripe.params.CustomerCreateParams = {"name": name, "metadata": {"org_id": org_id}}
        if email:
            params["email"] = email
        try:
            customer = self._client.v1.customers.create(
                params=params, options={"idempotency_key": f"fabledger-customer-{org_id}"}
            )
        except stripe.StripeError as error:
            raise _translate(error, "creating a customer") from None
        return str(customer.id)

    def report_usage(self, report: UsageReport) -> bool:
        """Send one meter event; False when Stripe already has this identifier."""
        try:
            self._client.v1.billing.meter_events.create(
                params={
                    "event_name": report.event_name,
                    "identifier": report.identifier,
                    "timestamp": report.timestamp,
                    "payload": {
                        "stripe_customer_id": report.customer_id,
                        "value": str(report.units),
                    },
                }
            )
        except stripe.InvalidRequestError as error:
            if is_duplicate_identifier(error, report.identifier):
                return False
            raise _translate(error, f"reporting {report.identifier}") from None
        except stripe.StripeError as error:
            raise _translate(error, f"reporting {report.identifier}") from None
        return True


def is_duplicate_identifier(error: stripe.InvalidRequestError, identifier: str) -> bool:
    """Whether Stripe refused a meter event only because it already has its identifier."""
    message = error.user_message or ""
    return (
        error.http_status == 400
        and message.startswith(DUPLICATE_IDENTIFIER)
        and identifier in message
    )


def _translate(error: stripe.StripeError, doing: str) -> BillingUnavailable | BillingRefused:
    """Our error for Stripe's: retryable outages vs refusals (never the request's key)."""
    if is_credentials_error(error):
        return BillingUnavailable(f"Stripe refused our credentials while {doing}")
    if is_outage(error):
        return BillingUnavailable(f"Stripe is unavailable while {doing}: {describe_error(error)}")
    return BillingRefused(f"Stripe refused {doing}: {describe_error(error)}")


def is_credentials_error(error: stripe.StripeError) -> bool:
    """Whether Stripe refused our API key (an operator has to fix the configuration)."""
    return isinstance(error, stripe.AuthenticationError | stripe.PermissionError)


def is_outage(error: stripe.StripeError) -> bool:
    """Whether Stripe could not answer this time (network, rate limit, 5xx): retry later."""
    status = error.http_status
    return (
        isinstance(error, stripe.APIConnectionError | stripe.RateLimitError)
        or status is None
        or status >= 500
    )


def describe_error(error: stripe.StripeError) -> str:
    """Kind, status, code and Stripe's message of an error (never the request's key)."""
    code = f" [{error.code}]" if error.code else ""
    return f"{type(error).__name__} {error.http_status or '-'}{code}: {error.user_message or ''}"
