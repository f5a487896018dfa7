"""Cart checkout bodies and answers, and order groups as customers and staff see them."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.orders import CustomerOrder, OrderRow, StaffOrderRow
from api.schemas.payments import PaymentView
from api.text import TextBody
from domain.cart_pricing import MAX_CART_ITEMS


class CartItemBody(TextBody):
    """One item: an earlier upload (session_id) or a catalog model, and its choices."""

    session_id: str | None = Field(default=None, min_length=1, max_length=64)
    catalog_model_id: str | None = Field(default=None, min_length=1, max_length=36)
    material: str = Field(min_length=1, max_length=40)
    color: str | None = Field(default=None, max_length=40)
    qty: int = Field(default=1, description="Copies of this item.")
    infill: float = Field(default=20, description="Infill percentage, 0 to 100.")


class CartCheckoutBody(TextBody):
    """A cart: its items, and the fulfilment and shipping every order of the group shares."""

    multiline = frozenset({"notes", "shipping_address"})

    items: list[CartItemBody] = Field(min_length=1, max_length=MAX_CART_ITEMS)
    fulfillment: str = Field(default="pickup", min_length=1, max_length=20)
    priority_print: bool = False
    shipping_name: str = Field(default="", max_length=200)
    shipping_phone: str = Field(default="", max_length=20)
    shipping_address: str = Field(default="", max_length=500)
    shipping_city: str = Field(default="", max_length=200)
    shipping_state: str = Field(default="", max_length=200)
    shipping_zip: str = Field(default="", max_length=12)
    shipping_method: str | None = Field(default=None, min_length=1, max_length=60)
    notes: str = Field(default="", max_length=2000)
    coupon_code: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        description="Redeemed once for the whole group; its discount is shared by the orders.",
    )
    address_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        description='A saved address to ship to ("default": the default one), instead of the'
        " shipping_* fields.",
    )


class PlacedGroup(BaseModel):
    """A cart checkout's orders (in cart order), the group's total and the position written."""

    group_id: str
    orders: list[CustomerOrder]
    total: float = Field(description="The group's total in rupees: the sum of its orders'.")
    payment: PaymentView
    position: int


class CustomerOrderGroup(BaseModel):
    """The caller's orders of one cart checkout, and their total in rupees."""

    group_id: str
    orders: list[OrderRow]
    total: float


class StaffOrderGroup(BaseModel):
    """Every order of one cart checkout, and their total in rupees."""

    group_id: str
    orders: list[StaffOrderRow]
    total: float
