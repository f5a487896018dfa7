"""Firm quotes (the slicer's figures) for customers; slice state and G-code for staff."""

import asyncio
import time
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from api.deps import Caller, CallerDep, ContainerDep, parse_id, staff_auth
from api.presenters import slice_view
from api.routers.quotes import StorefrontQuoteBody, quote_request
from api.schemas.errors import SIGNED_IN, STAFF, WITH_BODY, errors
from application.firm_quotes import FirmQuote
from domain.errors import Conflict, NotFound
from domain.slice_jobs import FAILED, SLICED, SliceJob
from domain.users import ADMIN, MODERATOR
from infra.bootstrap import Container

router = APIRouter(prefix="/api", tags=["quotes"])
POLL_SECONDS = 0.25


class FirmQuoteBody(StorefrontQuoteBody):
    session_id: str = Field(max_length=64, description="The upload session of the model.")
    wait_seconds: float = Field(
        default=10,
        ge=0,
        le=30,
        description="How long to wait for the slicer; then 202 with a link to poll.",
    )


def job_view(job: SliceJob) -> dict[str, Any]:
    """A slice job as clients see it (api.presenters.slice_view)."""
    return slice_view(
        {
            "job_id": str(job.id),
            "status": job.status,
            "printer": job.printer,
            "material": job.material,
            "profile_fingerprint": job.profile_fingerprint,
            "attempts": job.attempts,
            "result": job.result,
            "failure": job.failure,
        }
    )


def _answer(firm: FirmQuote, response: Response) -> dict[str, Any]:
    if not firm.done:
        response.status_code = 202
        response.headers["Location"] = f"/api/quote/firm/{firm.job.id}"
    return {"quote": firm.price.customer_view(), "firm": job_view(firm.job)}


@router.post(
    "/quote/firm",
    responses={
        202: {"description": "Not sliced yet: poll firm.poll."},
        **errors(*SIGNED_IN, *WITH_BODY, 404),
    },
)
async def firm_quote(
    body: FirmQuoteBody, caller: CallerDep, container: ContainerDep, response: Response
) -> dict[str, Any]:
    """A quote from the slicer's figures: waits up to wait_seconds for the slice, else 202.

    The answer always holds a price: firm (`quote.firm: true`) once sliced, else the
    instant estimate; a model the slicer cannot slice keeps the estimate, with the reason
    in `firm.failure`. Poll `firm.poll`, then ask again: a sliced part is answered at once.
    """
    session = container.checkout.models.get_session(body.session_id or "")
    if session is None:
        raise NotFound("upload session not found; upload the model again")
    request = quote_request(body, container)
    job = await run_in_threadpool(
        container.firm_quotes.request,
        request,
        session.model.sha256,
        session.model.filename,
        actor=f"customer:{caller.id}",
    )
    deadline = time.monotonic() + body.wait_seconds
    while True:
        firm = await run_in_threadpool(container.firm_quotes.price, request, job.id)
        if firm.done or time.monotonic() >= deadline:
            return _answer(firm, response)
        await asyncio.sleep(POLL_SECONDS)


@router.get(
    "/quote/firm/{job_id}",
    responses={202: {"description": "Queued or slicing."}, **errors(*SIGNED_IN, 404)},
)
def firm_quote_state(
    job_id: str, _: CallerDep, container: ContainerDep, response: Response
) -> dict[str, Any]:
    """A slice job's state: 200 when the slicer answered, 202 while it is queued or slicing."""
    job = container.slicing.app.job(parse_id(job_id, "slice job"))
    if job.status not in (SLICED, FAILED):
        response.status_code = 202
    return {"firm": job_view(job)}


def slicing_staff_router(prefix: str, *roles: str) -> APIRouter:
    """The order's slice and its G-code, for the staff of these roles."""
    staff = APIRouter(prefix=prefix, tags=["fulfilment"], responses=errors(*STAFF))
    OrdersRead = Annotated[Caller, staff_auth(roles, "orders:read")]

    def _job(container: Container, order_id: UUID) -> SliceJob:
        order = container.ordering.get_order(order_id)
        request = container.slicing.orders.request_for(order)
        if request is None:
            raise NotFound("this order has no model file to slice")
        job = container.slicing.app.find(request.job_id(), SliceJob)
        # Just placed or reassigned, before the slice flow asked: ask now (idempotent).
        return job or container.slicing.orders.order_changed(order_id) or _no_job()

    @staff.get("/orders/{order_id}/slice", responses=errors(404))
    def order_slice(order_id: str, _: OrdersRead, container: ContainerDep) -> dict[str, Any]:
        """The slice of the order for its printer (assigned, else the one that priced it)."""
        return {"firm": job_view(_job(container, parse_id(order_id)))}

    @staff.get(
        "/orders/{order_id}/gcode",
        response_class=FileResponse,
        responses={200: {"content": {"text/x.gcode": {}}}, **errors(404, 409)},
    )
    def order_gcode(order_id: str, _: OrdersRead, container: ContainerDep) -> FileResponse:
        """The G-code of an order assigned to a printer, sliced for that printer."""
        order = container.ordering.get_order(parse_id(order_id))
        if not getattr(order, "printer_id", None):
            raise Conflict("assign the order to a printer first: its G-code is that printer's")
        job = _job(container, order.id)
        if job.status != SLICED or job.result is None:
            raise Conflict(f"the G-code is not ready: the slice is {job.status}")
        path = container.slicing.gcodes.path_of(job.result["gcode_sha256"])
        return FileResponse(
            path,
            media_type="text/x.gcode",
            filename=f"{order.tracking_number}.gcode",
        )

    return staff


def _no_job() -> SliceJob:
    raise NotFound("this order cannot be sliced (cancelled)")


admin_router = slicing_staff_router("/api/admin", ADMIN)
moderator_router = slicing_staff_router("/api/mod", MODERATOR, ADMIN)
