"""Cart checkout: a group of orders, one per item, placed together or not at all."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Response
from starlette.concurrency import run_in_threadpool

from api.deps import CallerDep, ContainerDep
from api.payment_presenter import payment_view
from api.presenters import customer_order
from api.routers.checkout import refuse_unverified, shipping_to
from api.schemas.cart import CartCheckoutBody, PlacedGroup
from api.schemas.errors import SIGNED_IN, WITH_BODY, errors
from api.text import check_text
from application.cart_checkout import CartCheckout, CartItem, CartRequest
from domain.money import rupees_json

router = APIRouter(prefix="/api", tags=["checkout"])


@router.post(
    "/cart-checkout",
    status_code=201,
    response_model=PlacedGroup,
    responses={
        200: {"model": PlacedGroup, "description": "A retry of an earlier cart checkout"},
        **errors(*SIGNED_IN, *WITH_BODY, 403, 404, 409),
    },
)
async def cart_checkout(
    body: CartCheckoutBody,
    caller: CallerDep,
    container: ContainerDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> dict[str, Any]:
    """Place one order per item, all in one save, sharing a group_id; the same
    Idempotency-Key returns the same group (200, not 201).

    403 while the shop requires a verified e-mail address and the caller's is not. Each item
    is an earlier upload (session_id) or a catalog model (catalog_model_id); an item that
    cannot be ordered refuses the whole cart (422 or 404 naming it: "items[3]: ...") and
    nothing is placed. Shipping is charged once for the parcel, on the first order; a
    coupon_code is redeemed once for the group, its discount shared by the orders. The
    answer carries the group's one payment, with its UPI intent. A shipping cart goes to the
    shipping_* fields or to a saved address (address_id, or "default").
    """
    refuse_unverified(caller, container)
    if idempotency_key is not None:
        check_text("Idempotency-Key", idempotency_key)
    given = {
        "name": body.shipping_name,
        "phone": body.shipping_phone,
        "address": body.shipping_address,
        "city": body.shipping_city,
        "state": body.shipping_state,
        "zip": body.shipping_zip,
    }
    address = shipping_to(caller, container, body.fulfillment, given, body.address_id)
    request = CartRequest(
        customer_id=caller.id,
        customer_email=caller.user.email,
        items=[
            CartItem(
                material=item.material,
                color=item.color or None,
                quantity=item.qty,
                infill_pct=item.infill,
                session_id=item.session_id,
                catalog_model_id=item.catalog_model_id,
            )
            for item in body.items
        ],
        fulfillment=body.fulfillment,
        priority=body.priority_print,
        shipping_address=address,
        notes=body.notes,
        shipping_method=body.shipping_method,
        coupon_code=body.coupon_code,
        idempotency_key=idempotency_key,
    )
    # Session reads, pricing and the save block: keep them off the event loop.
    result = await run_in_threadpool(CartCheckout(container.checkout).place, request)
    if not result.created:
        response.status_code = 200
    payment = await run_in_threadpool(
        container.payments.open_for, result.orders, actor=caller.actor
    )
    response.headers["X-Position"] = str(result.position)
    return {
        "group_id": str(result.group_id),
        "orders": [customer_order(order) for order in result.orders],
        "total": rupees_json(result.total_paise),
        "payment": payment_view(payment, container.payments),
        "position": result.position,
    }
