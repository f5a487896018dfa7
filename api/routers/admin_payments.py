"""Staff reconcile payments: the list to work through, UTR checks, flagged amounts, refunds."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from api.deps import ContainerDep, OrdersReadDep, PaymentWriteDep, parse_id, read_after
from api.payment_presenter import payment_view
from api.schemas.errors import READ_AFTER, STAFF, WITH_BODY, errors
from api.schemas.payments import (
    PaymentAnswer,
    PaymentPage,
    PaymentView,
    ReasonBody,
    ReconcileBody,
    RefundSentBody,
)
from domain.errors import InvalidInput
from domain.money import paise_of_rupees_text
from domain.payments import STATUSES
from infra.bootstrap import Container
from projections.payments import MAX_PAGE, MAX_PAGE_SIZE, PaymentQuery, list_payments

router = APIRouter(prefix="/api/admin/payments", tags=["payments"], responses=errors(*STAFF))


def _answer(
    container: Container, response: Response, payment_id: Any, position: int
) -> dict[str, Any]:
    """The payment after a change; a confirmation settles its orders before answering."""
    payment = container.payments.app.get_payment(payment_id)
    if payment.is_confirmed:
        container.settlement.settle(payment.id)  # idempotent: the flow finds it done
        payment = container.payments.app.get_payment(payment_id)
        position = max(position, container.payments.app.position())
    response.headers["X-Position"] = str(position)
    return {"payment": payment_view(payment, container.payments), "position": position}


@router.get(
    "",
    response_model=PaymentPage,
    dependencies=[read_after("payments", OrdersReadDep)],
    responses=errors(*READ_AFTER),
)
def payments_list(
    caller: OrdersReadDep,
    container: ContainerDep,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    status: Annotated[str | None, Query(max_length=20)] = None,
    refunds_due: bool = False,
) -> dict[str, Any]:
    """Payments, the longest-waiting first: `status=submitted` is the UTRs to check against
    the bank statement; `short`/`over` are flagged amounts; `refunds_due` money to give back."""
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
    query = PaymentQuery(page=page, limit=limit, status=status, refunds_due=refunds_due)
    with container.views.reading() as cur:
        items, total = list_payments(cur, query)
    return {"payments": items, "page": page, "limit": limit, "total": total}


@router.get("/{payment_id}", response_model=PaymentView, responses=errors(404))
def payment_detail(
    payment_id: str, caller: OrdersReadDep, container: ContainerDep
) -> dict[str, Any]:
    """One payment with its refunds."""
    payment = container.payments.app.get_payment(parse_id(payment_id, "payment"))
    return payment_view(payment, container.payments)


@router.post(
    "/{payment_id}/reconcile",
    response_model=PaymentAnswer,
    responses=errors(*WITH_BODY, 404, 409),
)
def reconcile(
    payment_id: str,
    body: ReconcileBody,
    caller: PaymentWriteDep,
    container: ContainerDep,
    response: Response,
) -> dict[str, Any]:
    """The submitted UTR is on the bank statement for `amount`: equal to what is due
    confirms the payment (and its orders); any other amount is recorded and flagged."""
    amount = paise_of_rupees_text(body.amount, "amount")
    payment, position = container.payments.reconcile_utr(
        parse_id(payment_id, "payment"), amount, actor=caller.actor
    )
    return _answer(container, response, payment.id, position)


@router.post(
    "/{payment_id}/reject",
    response_model=PaymentAnswer,
    responses=errors(*WITH_BODY, 404, 409),
)
def reject(
    payment_id: str,
    body: ReasonBody,
    caller: PaymentWriteDep,
    container: ContainerDep,
    response: Response,
) -> dict[str, Any]:
    """No such transfer on the statement: the UTR is refused and the payer may send another."""
    payment, position = container.payments.reject_utr(
        parse_id(payment_id, "payment"), body.reason, actor=caller.actor
    )
    return _answer(container, response, payment.id, position)


@router.post(
    "/{payment_id}/accept",
    response_model=PaymentAnswer,
    responses=errors(404, 409),
)
def accept(
    payment_id: str, caller: PaymentWriteDep, container: ContainerDep, response: Response
) -> dict[str, Any]:
    """Accept a flagged (short or over) payment: its orders go ahead; an excess is due back."""
    payment, position = container.payments.accept_difference(
        parse_id(payment_id, "payment"), actor=caller.actor
    )
    return _answer(container, response, payment.id, position)


@router.post(
    "/{payment_id}/refunds/{refund_key}/sent",
    response_model=PaymentAnswer,
    responses=errors(*WITH_BODY, 404, 409),
)
def refund_sent(
    payment_id: str,
    refund_key: str,
    body: RefundSentBody,
    caller: PaymentWriteDep,
    container: ContainerDep,
    response: Response,
) -> dict[str, Any]:
    """Record a refund staff sent by bank or UPI transfer, with its reference."""
    payment, position = container.payments.app.change(
        parse_id(payment_id, "payment"),
        lambda p: p.refund_sent(refund_key, body.reference, actor=caller.actor),
    )
    return _answer(container, response, payment.id, position)
