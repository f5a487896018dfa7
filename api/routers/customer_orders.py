"""A customer's own orders, and public tracking by tracking number."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import CallerDep, ContainerDep, parse_id, read_after
from api.presenters import customer_order, customer_timeline, slice_view
from api.routers.staff_orders import page_of
from api.schemas.errors import ANY, READ_AFTER, SIGNED_IN, errors
from api.schemas.orders import CustomerOrder, OrderPage, Tracking
from domain.errors import InvalidInput, NotFound
from domain.orders import STATUSES
from projections.orders import (
    MAX_PAGE,
    MAX_PAGE_SIZE,
    OrderQuery,
    find_by_tracking_number,
    list_orders,
)

router = APIRouter(prefix="/api", tags=["customer orders"])

# Columns of the orders view that a stranger with the tracking number may see.
PUBLIC_TRACKING_FIELDS = (
    "tracking_number",
    "status",
    "fulfillment",
    "carrier_tracking_number",
    "created_at",
    "updated_at",
)


@router.get(
    "/user/orders",
    response_model=OrderPage,
    responses=errors(*SIGNED_IN, *READ_AFTER),
    dependencies=[read_after("orders", CallerDep)],
)
def my_orders(
    caller: CallerDep,
    container: ContainerDep,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    status: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, Any]:
    """The caller's orders, newest first."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"unknown status '{status}'; expected one of {', '.join(STATUSES)}")
    query = OrderQuery(page=page, limit=limit, status=status, customer_id=caller.id)
    with container.views.reading() as cur:
        items, total = list_orders(cur, query)
    for item in items:
        del item["customer_email"]
    return page_of(items, total, query)


@router.get(
    "/user/orders/{order_id}",
    response_model=CustomerOrder,
    responses=errors(*SIGNED_IN, 404),
)
def my_order(order_id: str, caller: CallerDep, container: ContainerDep) -> dict[str, Any]:
    """One of the caller's orders with its timeline; anyone else's is 404."""
    oid = parse_id(order_id)
    order = container.ordering.get_order(oid)
    if order.customer_id != caller.id:
        raise NotFound("order not found")
    body = customer_order(order, container.ordering.history(oid))
    job = container.slicing.orders.of_orders([str(oid)]).get(str(oid))
    body["slice"] = slice_view(job) if job else None
    return body


@router.get(
    "/track/{tracking_number}",
    response_model=Tracking,
    responses=errors(*ANY, *READ_AFTER, 404),
    dependencies=[read_after("orders", None)],
)
def track(tracking_number: str, container: ContainerDep) -> dict[str, Any]:
    """Public tracking: status and timeline, no customer details or internal notes."""
    with container.views.reading() as cur:
        row = find_by_tracking_number(cur, tracking_number.strip().upper()[:40])
    if row is None:
        raise NotFound("no order with that tracking number")
    history = container.ordering.history(parse_id(row["id"]))
    return {
        **{k: row[k] for k in PUBLIC_TRACKING_FIELDS},
        "timeline": [e for e in customer_timeline(history) if e["type"] != "NoteAdded"],
    }
