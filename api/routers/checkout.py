"""Single-item checkout: places an order from a file or an earlier upload session."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, Request, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from api.deps import Caller, CallerDep, ContainerDep
from api.payment_presenter import payment_view
from api.presenters import customer_order
from api.schemas.errors import MULTIPART, SIGNED_IN, errors
from api.schemas.orders import PlacedOrder
from api.text import check_text, refuse_empty_fields
from api.uploads import read_upload
from application.checkout import CheckoutRequest
from domain.errors import Forbidden, InvalidInput
from infra.bootstrap import Container

router = APIRouter(prefix="/api", tags=["checkout"])

UNVERIFIED = (
    "verify your e-mail address before checkout (the shop requires it);"
    " POST /api/auth/resend-verify sends a new link"
)


def refuse_unverified(caller: Caller, container: Container) -> None:
    """403 when the shop setting requires a verified address and the caller has none."""
    if not caller.user.email_verified and container.shop.value("email_verification_required"):
        raise Forbidden(UNVERIFIED)


def shipping_to(
    caller: Caller,
    container: Container,
    fulfillment: str,
    given: dict[str, str],
    address_id: str | None,
) -> dict[str, str] | None:
    """Where a checkout ships: the shipping_* fields, or a saved address ("default": the
    default one) — one or the other; None for a pickup."""
    if address_id is None:
        return given if fulfillment == "shipping" else None
    if fulfillment != "shipping":
        raise InvalidInput("address_id: a saved address is for shipping orders")
    if any(value.strip() for value in given.values()):
        raise InvalidInput("send address_id or the shipping_* fields, not both")
    wanted = None if address_id == "default" else address_id
    return container.addresses.for_checkout(caller.id, wanted)


ShortText = Annotated[str, Form(max_length=200)]
# Choices that have a default when left out, but are a mistake when sent empty.
NON_EMPTY = (
    "material",
    "quantity",
    "infill",
    "fulfillment",
    "priority_print",
    "session_id",
    "shipping_method",
    "coupon_code",
    "catalog_model_id",
    "address_id",
)
MULTILINE = ("notes", "shipping_address")


@router.post(
    "/checkout",
    status_code=201,
    response_model=PlacedOrder,
    responses={
        200: {"model": PlacedOrder, "description": "A retry of an earlier checkout"},
        **errors(*SIGNED_IN, *MULTIPART, 403, 404, 409),
    },
)
async def checkout(
    request: Request,
    caller: CallerDep,
    container: ContainerDep,
    response: Response,
    material: Annotated[str, Form(max_length=40)],
    color: Annotated[str, Form(max_length=40)] = "",
    quantity: Annotated[int, Form()] = 1,
    infill: Annotated[float, Form()] = 20,
    fulfillment: Annotated[str, Form(max_length=20)] = "pickup",
    priority_print: Annotated[bool, Form()] = False,
    model_file: Annotated[UploadFile | None, File()] = None,
    session_id: Annotated[str | None, Form(max_length=64)] = None,
    catalog_model_id: Annotated[str | None, Form(max_length=36)] = None,
    shipping_name: ShortText = "",
    shipping_phone: Annotated[str, Form(max_length=20)] = "",
    shipping_address: Annotated[str, Form(max_length=500)] = "",
    shipping_city: ShortText = "",
    shipping_state: ShortText = "",
    shipping_zip: Annotated[str, Form(max_length=12)] = "",
    shipping_method: Annotated[str | None, Form(max_length=60)] = None,
    notes: Annotated[str, Form(max_length=2000)] = "",
    coupon_code: Annotated[str | None, Form(max_length=40)] = None,
    address_id: Annotated[str | None, Form(max_length=40)] = None,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> dict[str, Any]:
    """Place an order; the same Idempotency-Key returns the same order (200, not 201).

    403 while the shop requires a verified e-mail address and the caller's is not.
    The model is one of model_file, session_id or catalog_model_id (a listed catalog model,
    or the caller's own; 404 for any other), priced at the catalog model's fixed price
    when it has one, else by the cost engine from its analysed geometry. A shipping order
    goes to the shipping_* fields or to a saved address (address_id, or "default").
    A coupon_code is redeemed with the order in one save; every refusal is a 422 naming
    the reason (unknown, inactive, not yet valid, expired, minimum order, used up, already
    used by you).
    """
    refuse_unverified(caller, container)
    form = await request.form()  # already parsed for the fields above: no second read
    refuse_empty_fields(form, NON_EMPTY)
    for name, value in form.multi_items():
        if isinstance(value, str):
            check_text(name, value, multiline=name in MULTILINE)
    if idempotency_key is not None:
        check_text("Idempotency-Key", idempotency_key)
    given = {
        "name": shipping_name,
        "phone": shipping_phone,
        "address": shipping_address,
        "city": shipping_city,
        "state": shipping_state,
        "zip": shipping_zip,
    }
    address = shipping_to(caller, container, fulfillment, given, address_id)
    # Queued callers keep their file spooled on disk: only admitted ones read it into memory.
    async with container.uploads.admitted(model_file is not None):
        data, filename = (None, None)
        if model_file is not None:
            data, filename = await read_upload(model_file, container.settings.max_file_bytes)
        place = container.checkout.place
        # Analysis and pricing are CPU work: keep them off the event loop.
        result = await run_in_threadpool(
            place,
            CheckoutRequest(
                customer_id=caller.id,
                customer_email=caller.user.email,
                material=material,
                color=color or None,
                quantity=quantity,
                infill_pct=infill,
                fulfillment=fulfillment,
                priority=priority_print,
                shipping_address=address,
                notes=notes,
                model_bytes=data,
                filename=filename,
                session_id=session_id,
                catalog_model_id=catalog_model_id,
                idempotency_key=idempotency_key,
                shipping_method=shipping_method,
                coupon_code=coupon_code,
            ),
        )
    if not result.created:
        response.status_code = 200
    payment = await run_in_threadpool(
        container.payments.open_for, [result.order], actor=caller.actor
    )
    response.headers["X-Position"] = str(result.position)
    return {
        "order": customer_order(result.order),
        "payment": payment_view(payment, container.payments),
        "position": result.position,
    }
