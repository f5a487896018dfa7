"""Coupons as admins write and read them (money in rupees with two decimals, times ISO-8601)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.text import TextBody

MAX_RUPEES = 10_000_000  # ₹1 crore, as domain.coupons.MAX_AMOUNT_PAISE
MAX_USES = 1_000_000_000


class _Terms(TextBody):
    """What every coupon write may carry."""

    percent_off: float | None = Field(
        default=None,
        gt=0,
        le=100,
        allow_inf_nan=False,
        description="Percent off the goods before GST (at most 2 decimals).",
    )
    amount_off: float | None = Field(
        default=None,
        gt=0,
        le=MAX_RUPEES,
        allow_inf_nan=False,
        description="Rupees off the goods before GST (whole paise); never more than the goods.",
    )
    max_uses: int | None = Field(
        default=None, ge=1, le=MAX_USES, description="Total uses; null: no limit."
    )
    valid_from: datetime | None = Field(default=None, description="With a timezone.")
    valid_to: datetime | None = Field(default=None, description="With a timezone.")


class CouponBody(_Terms):
    """A new coupon: exactly one of percent_off and amount_off."""

    code: str = Field(
        min_length=3,
        max_length=32,
        description="Letters, digits, '-' and '_'; case-insensitive (stored upper case).",
    )
    min_order_value: float = Field(
        default=0,
        ge=0,
        le=MAX_RUPEES,
        allow_inf_nan=False,
        description="Rupees of goods before GST and shipping the order must reach.",
    )
    max_uses_per_customer: int | None = Field(
        default=1, ge=1, le=MAX_USES, description="Uses per customer; null: no limit."
    )
    active: bool = True


class CouponChanges(_Terms):
    """Fields to change; a field left out keeps its value, null clears it.

    Setting percent_off clears amount_off and the other way round.
    """

    min_order_value: float | None = Field(
        default=None, ge=0, le=MAX_RUPEES, allow_inf_nan=False, description="null: no minimum."
    )
    max_uses_per_customer: int | None = Field(default=None, ge=1, le=MAX_USES)
    active: bool | None = Field(default=None, description="false deactivates (an event).")


class CouponInfo(BaseModel):
    """A coupon's terms and how much it was used."""

    id: str
    code: str
    percent_off: float | None
    amount_off: float | None
    min_order_value: float
    max_uses: int | None
    max_uses_per_customer: int | None
    valid_from: str | None
    valid_to: str | None
    active: bool
    deleted: bool
    uses: int = Field(description="Uses held by orders (uses given back do not count).")
    remaining_uses: int | None = Field(description="null: no total limit.")
    discount_total: float = Field(description="Rupees taken off by the uses held.")
    created_at: str
    updated_at: str


class CouponRow(CouponInfo):
    """A coupon in the list (from the coupon usage view)."""

    customers: int = Field(description="Customers holding at least one use.")


class CustomerUse(BaseModel):
    """One customer's uses of a coupon."""

    customer_id: str
    uses: int
    discount_total: float


class CouponDetail(CouponInfo):
    """A coupon with its uses per customer (read from its stream)."""

    by_customer: list[CustomerUse]


class CouponPage(BaseModel):
    """A page of coupons, newest first."""

    coupons: list[CouponRow]
    page: int
    limit: int
    total: int


class ChangedCoupon(BaseModel):
    """A coupon after a write, and the position the write reached."""

    coupon: CouponDetail
    changed: bool
    position: int
