"""Coupons for admins: list with usage, create, read, change (deactivate) and delete.

Not in the seed's API reference (only its admin UI: "Create discount codes ... New
Coupon"), so decided here: admin JWT only. Coupons are pricing, and the seed keeps
moderators from the cost engine and settings; no PAT scope of the seed names them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from api.deps import AdminDep, ContainerDep, parse_id, read_after
from api.schemas.coupons import ChangedCoupon, CouponBody, CouponChanges, CouponDetail, CouponPage
from api.schemas.errors import READ_AFTER, STAFF, WITH_BODY, errors
from api.schemas.fleet import Deleted
from api.text import changes_of
from domain.coupons import Coupon
from domain.money import rupees_json
from projections.coupons import MAX_PAGE, MAX_PAGE_SIZE, CouponQuery, list_coupons

router = APIRouter(prefix="/api/admin", tags=["coupons"], responses=errors(*STAFF))

# Fields a PATCH may clear with null; the others keep their value when sent as null.
CLEARABLE = frozenset(
    {"percent_off", "amount_off", "min_order_value", "max_uses", "max_uses_per_customer"}
    | {"valid_from", "valid_to"}
)


def coupon_query(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    q: Annotated[str | None, Query(max_length=32, description="Part of the code.")] = None,
    include_deleted: bool = False,
) -> CouponQuery:
    """Validated list filters."""
    return CouponQuery(page=page, limit=limit, q=q, include_deleted=include_deleted)


def _terms(
    terms: dict[str, Any], uses: int, discount_paise: int, max_uses: int | None
) -> dict[str, Any]:
    """The rupee and count fields of a coupon, from its stored terms and usage."""
    percent = terms["percent_off"]
    amount = terms["amount_off_paise"]
    return {
        "percent_off": None if percent is None else float(percent),
        "amount_off": None if amount is None else rupees_json(int(amount)),
        "min_order_value": rupees_json(int(terms["min_order_paise"])),
        "max_uses": max_uses,
        "max_uses_per_customer": terms["max_uses_per_customer"],
        "valid_from": terms["valid_from"],
        "valid_to": terms["valid_to"],
        "active": bool(terms["active"]),
        "uses": uses,
        "remaining_uses": None if max_uses is None else max(0, max_uses - uses),
        "discount_total": rupees_json(discount_paise),
    }


def coupon_detail(coupon: Coupon) -> dict[str, Any]:
    """A coupon read from its stream, with each customer's uses."""
    by_customer: dict[str, list[int]] = {}
    for held in coupon.redemptions.values():
        counts = by_customer.setdefault(held["customer_id"], [0, 0])
        counts[0] += 1
        counts[1] += held["discount_paise"]
    ranked = sorted(by_customer.items(), key=lambda item: (-item[1][0], item[0]))
    discount = sum(paise for _, paise in by_customer.values())
    return {
        "id": str(coupon.id),
        "code": coupon.code,
        **_terms(coupon.terms, coupon.uses, discount, coupon.terms["max_uses"]),
        "deleted": coupon.deleted,
        "created_at": coupon.created_on.isoformat(),
        "updated_at": coupon.modified_on.isoformat(),
        "by_customer": [
            {"customer_id": cid, "uses": uses, "discount_total": rupees_json(paise)}
            for cid, (uses, paise) in ranked
        ],
    }


def _row(row: dict[str, Any]) -> dict[str, Any]:
    """A coupon from the usage view."""
    max_uses = None if row["max_uses"] is None else int(row["max_uses"])
    return {
        "id": row["id"],
        "code": row["code"],
        **_terms(row, int(row["uses"]), int(row["discount_paise"]), max_uses),
        "deleted": row["deleted"],
        "customers": int(row["customers"]),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def _changed(response: Response, coupon: Coupon, changed: bool, position: int) -> dict[str, Any]:
    response.headers["X-Position"] = str(position)
    return {"coupon": coupon_detail(coupon), "changed": changed, "position": position}


@router.get(
    "/coupons",
    response_model=CouponPage,
    responses=errors(*READ_AFTER),
    dependencies=[read_after("coupons", AdminDep)],
)
def coupons(
    _: AdminDep, container: ContainerDep, query: Annotated[CouponQuery, Depends(coupon_query)]
) -> dict[str, Any]:
    """Coupons with their usage (the coupons view), newest first; X-Min-Position waits."""
    with container.views.reading() as cur:
        items, total = list_coupons(cur, query)
    coupons = [_row(i) for i in items]
    return {"coupons": coupons, "page": query.page, "limit": query.limit, "total": total}


@router.post(
    "/coupons", status_code=201, response_model=ChangedCoupon, responses=errors(*WITH_BODY, 409)
)
def create_coupon(
    body: CouponBody, caller: AdminDep, container: ContainerDep, response: Response
) -> dict[str, Any]:
    """Create a coupon; 409 when the code exists (in any case, deleted ones too)."""
    fields = body.model_dump(exclude={"code"})
    coupon, position = container.coupons.issue(body.code, fields, actor=caller.actor)
    return _changed(response, coupon, True, position)


@router.get("/coupons/{coupon_id}", response_model=CouponDetail, responses=errors(404))
def coupon(coupon_id: str, _: AdminDep, container: ContainerDep) -> dict[str, Any]:
    """One coupon (deleted ones too) with each customer's uses, read from its stream."""
    return coupon_detail(container.coupons.get(parse_id(coupon_id, "coupon")))


@router.patch(
    "/coupons/{coupon_id}",
    response_model=ChangedCoupon,
    responses=errors(*WITH_BODY, 404, 409),
)
def change_coupon(
    coupon_id: str,
    body: CouponChanges,
    caller: AdminDep,
    container: ContainerDep,
    response: Response,
) -> dict[str, Any]:
    """Change some terms; `{"active": false}` deactivates. Orders placed keep their price."""
    fields = changes_of(body, CLEARABLE)
    found, changed, position = container.coupons.change(
        parse_id(coupon_id, "coupon"), fields, actor=caller.actor
    )
    return _changed(response, found, changed, position)


@router.delete("/coupons/{coupon_id}", response_model=Deleted, responses=errors(404, 409))
def delete_coupon(
    coupon_id: str, caller: AdminDep, container: ContainerDep, response: Response
) -> dict[str, Any]:
    """Delete (soft): customers no longer know the code; its history and uses stay."""
    cid = parse_id(coupon_id, "coupon")
    _, position = container.coupons.withdraw(cid, actor=caller.actor)
    response.headers["X-Position"] = str(position)
    return {"id": str(cid), "deleted": True, "position": position}
