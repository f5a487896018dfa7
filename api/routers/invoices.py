"""GST tax invoices as PDFs: customers download their own, staff any."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from api.deps import CallerDep, ContainerDep, OrdersReadDep, parse_id
from api.schemas.errors import SIGNED_IN, STAFF, errors

router = APIRouter(tags=["invoices"])

PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The invoice (PDF)."}
}


def _pdf(filename: str, data: bytes) -> Response:
    """The PDF as a download named by its invoice number."""
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/api/user/orders/{order_id}/invoice",
    response_class=Response,
    responses={**PDF, **errors(*SIGNED_IN, 404, 409)},
)
def order_invoice(order_id: str, caller: CallerDep, container: ContainerDep) -> Response:
    """The invoice of one of your orders once paid (409 before); an order of a group has
    the group's invoice, which lists every part."""
    return _pdf(*container.invoices.pdf_for_order(parse_id(order_id), caller.id))


@router.get(
    "/api/user/orders/group/{group_id}/invoice",
    response_class=Response,
    responses={**PDF, **errors(*SIGNED_IN, 404, 409)},
)
def group_invoice(group_id: str, caller: CallerDep, container: ContainerDep) -> Response:
    """The combined invoice of one of your group orders, once paid."""
    return _pdf(*container.invoices.pdf_for_group(str(parse_id(group_id, "group")), caller.id))


@router.get(
    "/api/admin/orders/{order_id}/invoice",
    response_class=Response,
    responses={**PDF, **errors(*STAFF, 404, 409)},
)
def staff_order_invoice(order_id: str, caller: OrdersReadDep, container: ContainerDep) -> Response:
    """Any order's invoice."""
    return _pdf(*container.invoices.pdf_for_order(parse_id(order_id), None))


@router.get(
    "/api/admin/orders/group/{group_id}/invoice",
    response_class=Response,
    responses={**PDF, **errors(*STAFF, 404, 409)},
)
def staff_group_invoice(group_id: str, caller: OrdersReadDep, container: ContainerDep) -> Response:
    """Any group order's invoice."""
    return _pdf(*container.invoices.pdf_for_group(str(parse_id(group_id, "group")), None))
