"""Paying for orders: the payment and its UPI intent, the UTR, card intents, Stripe's webhook."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from starlette.concurrency import run_in_threadpool

from api.deps import CallerDep, ContainerDep, parse_id
from api.payment_presenter import payment_view
from api.schemas.errors import ANY, SIGNED_IN, WITH_BODY, errors
from api.schemas.payments import (
    CardIntentView,
    PaymentAnswer,
    PaymentView,
    UtrBody,
    WebhookAnswer,
)
from application.ports import WebhookRefused
from domain.errors import BadRequest, FileTooLarge, NotFound

router = APIRouter(prefix="/api", tags=["payments"])

MAX_WEBHOOK_BYTES = 256 * 1024  # Stripe's events are a few KB; anything larger is not one
QR_TYPES = {"png": "image/png", "svg": "image/svg+xml"}


@router.get(
    "/user/orders/{order_id}/payment",
    response_model=PaymentView,
    responses=errors(*SIGNED_IN, 404),
)
def order_payment(order_id: str, caller: CallerDep, container: ContainerDep) -> dict[str, Any]:
    """The payment covering one of your orders (a group's orders share one), with its UPI
    intent while money is outstanding."""
    order = container.ordering.get_order(parse_id(order_id))
    if order.customer_id != caller.id:
        raise NotFound("order not found")
    payment = container.payments.of_order(order, actor=caller.actor)
    return payment_view(payment, container.payments)


@router.get(
    "/user/payments/{payment_id}",
    response_model=PaymentView,
    responses=errors(*SIGNED_IN, 404),
)
def get_payment(payment_id: str, caller: CallerDep, container: ContainerDep) -> dict[str, Any]:
    """One of your payments."""
    payment = container.payments.customers_payment(parse_id(payment_id, "payment"), caller.id)
    return payment_view(payment, container.payments)


@router.get(
    "/user/payments/{payment_id}/upi-qr.{kind}",
    response_class=Response,
    responses={
        200: {"content": {t: {} for t in QR_TYPES.values()}, "description": "The QR code."},
        **errors(*SIGNED_IN, 404, 409),
    },
)
def upi_qr(payment_id: str, kind: str, caller: CallerDep, container: ContainerDep) -> Response:
    """The UPI link of what is outstanding as a QR code (png or svg); 409 once paid."""
    if kind not in QR_TYPES:
        raise NotFound("no such image; ask for upi-qr.png or upi-qr.svg")
    payment = container.payments.customers_payment(parse_id(payment_id, "payment"), caller.id)
    image = container.payments.upi_qr(payment, kind)
    # The amount in the link changes as money arrives: never cache an old one.
    return Response(image, media_type=QR_TYPES[kind], headers={"Cache-Control": "no-store"})


@router.post(
    "/user/payments/{payment_id}/utr",
    response_model=PaymentAnswer,
    responses=errors(*SIGNED_IN, *WITH_BODY, 404, 409),
)
def submit_utr(
    payment_id: str, body: UtrBody, caller: CallerDep, container: ContainerDep, response: Response
) -> dict[str, Any]:
    """Send the 12-digit UTR your UPI app showed after paying; staff match it against the
    bank statement and confirm. A UTR belongs to one payment only (409 for another)."""
    payment, position = container.payments.submit_utr(
        parse_id(payment_id, "payment"), body.utr, customer_id=caller.id
    )
    response.headers["X-Position"] = str(position)
    return {"payment": payment_view(payment, container.payments), "position": position}


@router.post(
    "/user/payments/{payment_id}/card",
    response_model=CardIntentView,
    responses=errors(*SIGNED_IN, 404, 409),
)
async def card_intent(
    payment_id: str, caller: CallerDep, container: ContainerDep
) -> dict[str, Any]:
    """Open (or reopen) a Stripe card payment for what is outstanding; its client_secret is
    for Stripe.js only. 404 when the shop takes no card payments."""
    intent, _ = await run_in_threadpool(
        container.payments.start_card, parse_id(payment_id, "payment"), customer_id=caller.id
    )
    return {
        "intent_id": intent.intent_id,
        "client_secret": intent.client_secret,
        "status": intent.status,
    }


@router.post(
    "/payments/stripe/webhook",
    response_model=WebhookAnswer,
    responses=errors(*ANY, 400, 404, 413),
)
async def stripe_webhook(
    request: Request,
    container: ContainerDep,
    stripe_signature: Annotated[str | None, Header(max_length=2000)] = None,
) -> dict[str, Any]:
    """Stripe's events: the signature is verified on the raw body (400 and nothing changed
    otherwise); each event id is acted on once, a replay answers duplicate: true. 404 when
    the shop takes no card payments."""
    cards = container.payments.cards
    if cards is None:
        raise NotFound("card payments are not configured on this shop")
    payload = await request.body()
    if len(payload) > MAX_WEBHOOK_BYTES:
        raise FileTooLarge(f"webhook body is larger than {MAX_WEBHOOK_BYTES} bytes")
    if not stripe_signature:
        raise BadRequest("missing Stripe-Signature header")
    try:
        event = cards.verify(payload, stripe_signature)
    except WebhookRefused as error:
        raise BadRequest(f"webhook refused: {error}") from error
    handled = await run_in_threadpool(container.payments.handle_card_event, event)
    return {"received": True, "duplicate": not handled}
