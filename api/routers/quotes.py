"""Model upload (analysis) and instant quotes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, UploadFile
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from api.deps import CallerDep, ContainerDep
from api.schemas.catalog import QuoteAnswer, UploadSession
from api.schemas.errors import ANY, MULTIPART, SIGNED_IN, WITH_BODY, errors
from api.text import TextBody
from api.uploads import read_upload
from application.checkout import geometry_of
from application.quoting import QuoteRequest
from domain.errors import InvalidInput, NotFound
from domain.pricing import PartGeometry, PriceBreakdown
from infra.bootstrap import Container

router = APIRouter(prefix="/api", tags=["quotes"])


@router.post(
    "/upload-for-cart",
    status_code=201,
    response_model=UploadSession,
    responses=errors(*SIGNED_IN, *MULTIPART),
)
async def upload_for_cart(
    caller: CallerDep, container: ContainerDep, model_file: Annotated[UploadFile, File()]
) -> dict[str, Any]:
    """Analyse an uploaded model and open a session to check it out later."""
    # Queued callers keep their file spooled on disk: only admitted ones read it into memory.
    async with container.uploads.admitted():
        data, filename = await read_upload(model_file, container.settings.max_file_bytes)
        # Mesh analysis is CPU work: keep it off the event loop.
        session = await run_in_threadpool(container.checkout.upload, caller.id, data, filename)
    return {"session_id": session.session_id, "filename": filename, **session.summary.to_dict()}


class QuoteBody(TextBody):
    dim_x_mm: float | None = Field(default=None, gt=0)
    dim_y_mm: float | None = Field(default=None, gt=0)
    dim_z_mm: float | None = Field(default=None, gt=0)
    volume_cm3: float | None = Field(default=None, gt=0)
    surface_area_cm2: float | None = Field(default=None, gt=0)
    session_id: str | None = Field(default=None, max_length=64)
    material: str = Field(max_length=40)
    color: str | None = Field(default=None, max_length=40)
    quantity: int = 1
    infill: float = 20
    fulfillment: str = "pickup"
    priority_print: bool = False
    shipping_method: str | None = Field(default=None, max_length=40)
    shipping_zip: str | None = Field(default=None, max_length=12)


def _geometry(body: QuoteBody, container: Container) -> PartGeometry:
    if body.session_id:
        session = container.checkout.models.get_session(body.session_id)
        if session is None:
            raise NotFound("upload session not found; upload the model again")
        return geometry_of(session.summary)
    dims = (body.dim_x_mm, body.dim_y_mm, body.dim_z_mm, body.volume_cm3)
    if any(d is None for d in dims):
        raise InvalidInput("send dim_x_mm, dim_y_mm, dim_z_mm and volume_cm3, or a session_id")
    x, y, z, v = (float(d) for d in dims if d is not None)
    return PartGeometry(x, y, z, v, body.surface_area_cm2)


class StorefrontQuoteBody(QuoteBody):
    coupon_code: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        description="Checked and shown as a discount line before GST; not reserved.",
    )


@router.post("/quote", response_model=QuoteAnswer, responses=errors(*ANY, *WITH_BODY, 404))
def instant_quote(body: StorefrontQuoteBody, container: ContainerDep) -> dict[str, Any]:
    """A transparent price: material, printing, priority, discount, GST, untaxed shipping.

    A coupon_code is checked (422 with the reason) but not redeemed: a quote is anonymous
    and holds nothing, so the per-customer limit is checked at checkout only.
    """
    price = price_of(body, container)
    if body.coupon_code is not None:
        price = container.coupons.preview(price, body.coupon_code)
    return {"quote": price.customer_view()}


def quote_payload(body: QuoteBody, container: Container) -> dict[str, Any]:
    """The customer-facing quote shared by the storefront and the developer API."""
    return {"quote": price_of(body, container).customer_view()}


def price_of(body: QuoteBody, container: Container) -> PriceBreakdown:
    """The price of a quote's part and choices."""
    return container.quoter.quote(quote_request(body, container))


def quote_request(body: QuoteBody, container: Container) -> QuoteRequest:
    """What a quote body asks for, its part's geometry from the numbers or the upload."""
    return QuoteRequest(
        geometry=_geometry(body, container),
        material=body.material,
        color=body.color,
        quantity=body.quantity,
        infill_pct=body.infill,
        priority=body.priority_print,
        fulfillment=body.fulfillment,
        shipping_zip=body.shipping_zip,
        shipping_method=body.shipping_method,
    )
