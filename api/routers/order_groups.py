"""Order groups (cart checkouts): the customer's own, and any group for staff.

Read from the orders view, so X-Min-Position (read_after) waits for a checkout's position.
The admin mount takes a PAT with orders:read (the seed); the moderator mount is JWT only.
No `from __future__ import annotations`: FastAPI must see the routers' local auth aliases.
"""

from typing import Annotated, Any

from fastapi import APIRouter

from api.deps import Caller, CallerDep, ContainerDep, parse_id, read_after, staff_auth
from api.schemas.cart import CustomerOrderGroup, StaffOrderGroup
from api.schemas.errors import READ_AFTER, SIGNED_IN, STAFF, errors
from domain.errors import NotFound
from domain.money import rupees_json
from domain.users import ADMIN, MODERATOR
from infra.bootstrap import Container
from projections.orders import orders_in_group

router = APIRouter(prefix="/api", tags=["customer orders"])


def _group(container: Container, raw_id: str, customer_id: str | None = None) -> dict[str, Any]:
    """The group's orders and total; 404 when it has none (that the customer may see)."""
    group_id = str(parse_id(raw_id, "order group"))
    with container.views.reading() as cur:
        orders, total_paise = orders_in_group(cur, group_id, customer_id)
    if not orders:
        raise NotFound("order group not found")
    return {"group_id": group_id, "orders": orders, "total": rupees_json(total_paise)}


@router.get(
    "/user/orders/group/{group_id}",
    response_model=CustomerOrderGroup,
    responses=errors(*SIGNED_IN, *READ_AFTER, 404),
    dependencies=[read_after("orders", CallerDep)],
)
def my_group(group_id: str, caller: CallerDep, container: ContainerDep) -> dict[str, Any]:
    """The orders of one of the caller's cart checkouts; anyone else's group is 404."""
    group = _group(container, group_id, caller.id)
    for order in group["orders"]:
        del order["customer_email"]
    return group


def staff_group_router(prefix: str, *roles: str) -> APIRouter:
    """The group route for staff, guarded by the given roles."""
    staff_router = APIRouter(prefix=prefix, tags=["fulfilment"], responses=errors(*STAFF))
    OrdersRead = Annotated[Caller, staff_auth(roles, "orders:read")]

    @staff_router.get(
        "/orders/group/{group_id}",
        response_model=StaffOrderGroup,
        responses=errors(*READ_AFTER, 404),
        dependencies=[read_after("orders", OrdersRead)],
    )
    def group(group_id: str, _: OrdersRead, container: ContainerDep) -> dict[str, Any]:
        """Every order of a cart checkout, in cart order, with the group's total."""
        return _group(container, group_id)

    return staff_router


admin_router = staff_group_router("/api/admin", ADMIN)
moderator_router = staff_group_router("/api/mod", MODERATOR, ADMIN)
