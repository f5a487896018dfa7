"""Orders as customers, strangers and staff see them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from api.schemas.catalog import CustomerPrice, MeshInfo, StaffPrice


class OrderModel(MeshInfo):
    """The ordered model file: geometry plus the stored file's hash, name and size."""

    sha256: str
    filename: str
    size_bytes: int


class ShippingAddress(BaseModel):
    """Where a shipping order goes."""

    name: str
    phone: str
    address: str
    city: str
    state: str
    zip: str


class CarrierTracking(BaseModel):
    """The carrier's tracking number and link."""

    tracking_number: str
    tracking_url: str | None
    shipping_id: str | None


class TimelineEntry(BaseModel):
    """A customer-visible step: placed, status change, payment, carrier tracking, note."""

    type: str
    at: str
    status: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None
    note: str | None = None


class _OrderCommon(BaseModel):
    id: str
    tracking_number: str
    status: str
    is_paid: bool
    group_id: str | None
    material: str
    color: str
    quantity: int
    infill: float
    fulfillment: str
    priority_print: bool
    model: OrderModel
    shipping_address: ShippingAddress | None
    carrier_tracking: CarrierTracking | None
    notes: str = Field(description="The customer's own note to the shop.")
    created_at: str
    updated_at: str


class CustomerOrder(_OrderCommon):
    """An order as its customer sees it (no internal costs or notes)."""

    price: CustomerPrice
    timeline: list[TimelineEntry] | None = None


class StaffNote(BaseModel):
    """A note on an order as kept on the order."""

    id: str
    note: str
    is_internal: bool
    actor: str


class StaffOrder(_OrderCommon):
    """Everything staff need: customer, every cost line, notes and the stream version."""

    customer_id: str
    customer_email: str
    price: StaffPrice
    settings_version: int
    version: int
    staff_notes: list[StaffNote]


class PlacedOrder(BaseModel):
    """A checkout's order and the log position it wrote."""

    order: CustomerOrder
    position: int


class ChangedOrder(BaseModel):
    """A staff change's resulting order and the log position it wrote."""

    order: StaffOrder
    position: int


class OrderRow(BaseModel):
    """One order in a list (from the orders view)."""

    id: str
    tracking_number: str
    customer_id: str
    group_id: str | None
    status: str
    material: str
    color: str | None
    quantity: int
    fulfillment: str
    priority: bool
    filename: str | None
    currency: str
    is_paid: bool
    carrier_tracking_number: str | None
    created_at: str
    updated_at: str
    version: int
    total: float


class StaffOrderRow(OrderRow):
    """A list row with the customer's e-mail, for staff."""

    customer_email: str


class OrderPage(BaseModel):
    """One page of the caller's orders."""

    orders: list[OrderRow]
    page: int
    limit: int
    total: int


class StaffOrderPage(BaseModel):
    """One page of all orders."""

    orders: list[StaffOrderRow]
    page: int
    limit: int
    total: int


class Tracking(BaseModel):
    """Public tracking: status and timeline, nothing about the customer."""

    tracking_number: str
    status: str
    fulfillment: str
    carrier_tracking_number: str | None
    created_at: str
    updated_at: str
    timeline: list[TimelineEntry]


class Note(BaseModel):
    """A note as listed, with who wrote it and when."""

    id: str
    note: str
    is_internal: bool
    author: str
    created_at: str


class NoteList(BaseModel):
    """The order's notes, oldest first."""

    notes: list[Note]


class AddedNote(BaseModel):
    """The new note and the log position it wrote."""

    note: Note
    position: int


class HistoryEvent(BaseModel):
    """One stored event of an order, with who caused it."""

    type: str
    version: int
    timestamp: str
    actor: str
    data: dict[str, Any] = Field(description="The event's attributes; they differ by type.")


class History(BaseModel):
    """Every stored event of an order up to a point, oldest first."""

    order_id: str
    events: list[HistoryEvent]


class Activity(BaseModel):
    """One recent event on the dashboard."""

    position: int
    order_id: str
    type: str
    actor: str
    at: str
    summary: str


class Revenue(BaseModel):
    """Money ordered and paid, in rupees."""

    currency: str
    ordered_total: float
    paid_total: float
    paid_orders: int


class Stats(BaseModel):
    """The admin dashboard."""

    orders_by_status: dict[str, int]
    total_orders: int
    revenue: Revenue
    recent_activity: list[Activity]
