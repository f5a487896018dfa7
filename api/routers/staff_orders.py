"""Fulfilment endpoints, mounted for admins (/api/admin) and moderators (/api/mod).

PAT scopes (the seed's table) apply to the admin mount only: staff_auth gives the
moderator mount its JWT-only role check. Not in the seed, decided here: an order's
history is orders:read (GET /orders/{id}?as_of= already shows every past state under that
scope), a printer's queue is orders:read (the same order rows, by printer), and
/my-printers/queue stays JWT only (the printers a person owns mean nothing to a token).
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import Field

from api.deps import Caller, ContainerDep, parse_id, read_after, require_role, staff_auth
from api.presenters import staff_order
from api.schemas.errors import READ_AFTER, STAFF, WITH_BODY, errors
from api.schemas.orders import (
    AddedNote,
    ChangedOrder,
    EligiblePrinters,
    History,
    NoteList,
    PrinterQueue,
    StaffOrder,
    StaffOrderPage,
)
from api.text import TextBody
from domain.errors import InvalidInput
from domain.orders import STATUSES
from domain.users import ADMIN, MODERATOR
from infra.bootstrap import Container
from projections.orders import MAX_PAGE, MAX_PAGE_SIZE, SORTS, OrderQuery, list_orders


class StatusBody(TextBody):
    status: str = Field(max_length=40)


class TrackingBody(TextBody):
    tracking_number: str = Field(max_length=100)
    tracking_url: str | None = Field(default=None, max_length=500)
    shipping_id: str | None = Field(default=None, max_length=100)


class PaidBody(TextBody):
    method: str = Field(default="manual", max_length=40)
    reference: str = Field(default="", max_length=200)


class PrinterBody(TextBody):
    printer_id: str | None = Field(max_length=36, description="A printer's id, or null.")


class NoteBody(TextBody):
    multiline = frozenset({"note"})

    note: str = Field(max_length=4000)
    is_internal: bool = True


def order_query(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    status: Annotated[str | None, Query(max_length=40)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    sort: Annotated[str, Query(max_length=20)] = "-created_at",
) -> OrderQuery:
    """Validated list filters."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"unknown status '{status}'; expected one of {', '.join(STATUSES)}")
    if sort not in SORTS:
        raise InvalidInput(f"unknown sort '{sort}'; expected one of {', '.join(SORTS)}")
    return OrderQuery(page=page, limit=limit, status=status, q=q, sort=sort)


def page_of(items: list[dict[str, Any]], total: int, query: OrderQuery) -> dict[str, Any]:
    """The list envelope shared by every order list."""
    return {"orders": items, "page": query.page, "limit": query.limit, "total": total}


def staff_orders_router(prefix: str, *roles: str) -> APIRouter:
    """The same fulfilment routes, guarded by the given roles."""
    router = APIRouter(prefix=prefix, tags=["fulfilment"], responses=errors(*STAFF))
    Staff = Annotated[Caller, Depends(require_role(*roles))]  # JWT only
    OrdersRead = Annotated[Caller, staff_auth(roles, "orders:read")]
    OrdersWrite = Annotated[Caller, staff_auth(roles, "orders:write")]
    PaymentWrite = Annotated[Caller, staff_auth(roles, "payment:write")]

    @router.get(
        "/orders",
        response_model=StaffOrderPage,
        responses=errors(*READ_AFTER),
        dependencies=[read_after("orders", OrdersRead)],
    )
    def orders(
        _: OrdersRead, container: ContainerDep, query: Annotated[OrderQuery, Depends(order_query)]
    ) -> dict[str, Any]:
        """All orders, filtered, searched, sorted and paged (from the orders view)."""
        with container.views.reading() as cur:
            items, total = list_orders(cur, query)
        return page_of(items, total, query)

    @router.get("/orders/{order_id}", response_model=StaffOrder, responses=errors(404))
    def order(
        order_id: str,
        _: OrdersRead,
        container: ContainerDep,
        as_of: Annotated[str | None, Query(max_length=40)] = None,
    ) -> dict[str, Any]:
        """Full order detail, or the order as it stood at a version or time."""
        oid = parse_id(order_id)
        if as_of is not None:
            found = container.ordering.order_as_of(oid, as_of)
        else:
            found = container.ordering.get_order(oid)
        return staff_order(found, container.assignment.printer_name(found.printer_id))

    @router.get("/orders/{order_id}/history", response_model=History, responses=errors(404))
    def history(
        order_id: str,
        _: OrdersRead,
        container: ContainerDep,
        as_of: Annotated[str | None, Query(max_length=40)] = None,
    ) -> dict[str, Any]:
        """Every stored event of the order, oldest first, with who caused it.

        `as_of` (a version number or an ISO-8601 time) stops at that point.
        """
        entries = container.ordering.history(parse_id(order_id), as_of)
        return {"order_id": order_id, "events": [e.to_dict() for e in entries]}

    def _respond(
        response: Response, container: Container, order: Any, position: int
    ) -> dict[str, Any]:
        response.headers["X-Position"] = str(position)
        printer = container.assignment.printer_name(order.printer_id)
        return {"order": staff_order(order, printer), "position": position}

    @router.patch(
        "/orders/{order_id}/status",
        response_model=ChangedOrder,
        responses=errors(*WITH_BODY, 404, 409),
    )
    def change_status(
        order_id: str,
        body: StatusBody,
        caller: OrdersWrite,
        container: ContainerDep,
        response: Response,
    ) -> dict[str, Any]:
        """Advance the order through the FSM (409 naming the current state if illegal)."""
        order, position = container.ordering.change_status(
            parse_id(order_id), body.status, actor=caller.actor
        )
        return _respond(response, container, order, position)

    @router.patch(
        "/orders/{order_id}/paid",
        response_model=ChangedOrder,
        responses=errors(*WITH_BODY, 404, 409),
    )
    def mark_paid(
        order_id: str,
        caller: PaymentWrite,
        container: ContainerDep,
        response: Response,
        body: PaidBody | None = None,
    ) -> dict[str, Any]:
        """Confirm payment by hand: what is outstanding on the order's payment is recorded as
        received by this staff member, which confirms it; every order it covers (a group's
        parts together) becomes confirmed and the invoice is issued."""
        body = body or PaidBody()
        payment, _ = container.payments.confirm_manually(
            parse_id(order_id), actor=caller.actor, method=body.method, reference=body.reference
        )
        container.settlement.settle(payment.id)  # idempotent: the payment flow finds it done
        order = container.ordering.get_order(parse_id(order_id))
        return _respond(response, container, order, container.ordering.position())

    @router.patch(
        "/orders/{order_id}/tracking",
        response_model=ChangedOrder,
        responses=errors(*WITH_BODY, 404, 409),
    )
    def set_tracking(
        order_id: str,
        body: TrackingBody,
        caller: OrdersWrite,
        container: ContainerDep,
        response: Response,
    ) -> dict[str, Any]:
        """Set the carrier's tracking number and link."""
        order, position = container.ordering.set_carrier_tracking(
            parse_id(order_id),
            tracking_number=body.tracking_number,
            tracking_url=body.tracking_url,
            shipping_id=body.shipping_id,
            actor=caller.actor,
        )
        return _respond(response, container, order, position)

    @router.get("/orders/{order_id}/notes", response_model=NoteList, responses=errors(404))
    def notes(order_id: str, _: OrdersRead, container: ContainerDep) -> dict[str, Any]:
        """Internal and customer notes on the order."""
        return {"notes": container.ordering.notes(parse_id(order_id))}

    @router.post(
        "/orders/{order_id}/notes",
        status_code=201,
        response_model=AddedNote,
        responses=errors(*WITH_BODY, 404, 409),
    )
    def add_note(
        order_id: str,
        body: NoteBody,
        caller: OrdersWrite,
        container: ContainerDep,
        response: Response,
    ) -> dict[str, Any]:
        """Add a note (internal by default: never shown to the customer)."""
        note, position = container.ordering.add_note(
            parse_id(order_id), text=body.note, is_internal=body.is_internal, actor=caller.actor
        )
        response.headers["X-Position"] = str(position)
        return {"note": note, "position": position}

    @router.get(
        "/orders/{order_id}/eligible-printers",
        response_model=EligiblePrinters,
        responses=errors(*READ_AFTER, 404),
        dependencies=[read_after("printer_load", OrdersRead)],
    )
    def eligible_printers(order_id: str, _: OrdersRead, container: ContainerDep) -> dict[str, Any]:
        """Every printer ranked for the order: compatible first, then by score.

        Seed scope: orders:read. score = queued_hours + distance_km / 100 (README "Print
        config"); load comes from the printer-load view (X-Min-Position waits for it).
        """
        oid = parse_id(order_id)
        ranked = container.assignment.eligible(oid)
        current = next((c.printer_id for c in ranked if c.current), None)
        return {
            "order_id": str(oid),
            "printer_id": current,
            "printers": [c.to_dict() for c in ranked],
        }

    @router.patch(
        "/orders/{order_id}/printer",
        response_model=ChangedOrder,
        responses=errors(*WITH_BODY, 404, 409),
    )
    def assign_printer(
        order_id: str,
        body: PrinterBody,
        caller: OrdersWrite,
        container: ContainerDep,
        response: Response,
    ) -> dict[str, Any]:
        """Assign the order to a printer, or unassign it with null.

        Seed scope: orders:write. 409 for a printer that cannot make it (with the reasons)
        or an order past printing; the same printer again changes nothing.
        """
        printer = None if body.printer_id is None else parse_id(body.printer_id, "printer")
        order, position = container.assignment.assign(
            parse_id(order_id), printer, actor=caller.actor
        )
        return _respond(response, container, order, position)

    @router.get(
        "/printer-types/{printer_id}/queue",
        response_model=PrinterQueue,
        responses=errors(*READ_AFTER, 404),
        dependencies=[read_after("printer_load", OrdersRead)],
    )
    def printer_queue(
        printer_id: str, caller: OrdersRead, container: ContainerDep
    ) -> dict[str, Any]:
        """The printer's queue: its owners (moderators) and admins only."""
        pid = parse_id(printer_id, "printer")
        return _queue(
            *container.assignment.queue(
                caller.id, is_admin=caller.user.role == ADMIN, printer_id=pid
            )
        )

    @router.get(
        "/my-printers/queue",
        response_model=PrinterQueue,
        responses=errors(*READ_AFTER),
        dependencies=[read_after("printer_load", Staff)],
    )
    def my_queue(caller: Staff, container: ContainerDep) -> dict[str, Any]:
        """The queues of every printer the caller owns, merged, oldest placed first."""
        return _queue(*container.assignment.queue(caller.id, is_admin=False))

    return router


def _queue(printer_ids: list[str], items: list[dict[str, Any]]) -> dict[str, Any]:
    total = round(sum(i["print_hours"] for i in items), 2)
    return {"printer_ids": printer_ids, "orders": items, "total_hours": total}


admin_router = staff_orders_router("/api/admin", ADMIN)
moderator_router = staff_orders_router("/api/mod", MODERATOR, ADMIN)
