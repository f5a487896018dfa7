"""Orders as customers, strangers and staff see them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from api.schemas.catalog import CustomerPrice, MeshInfo, StaffPrice
from api.schemas.payments import PaymentView


class OrderModel(MeshInfo):
    """The ordered model file: geometry plus the stored file's hash, name and size."""

    sha256: str
    filename: str
    size_bytes: int
    catalog_model_id: str | None = None  # the catalog model ordered, if it was one


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
    slice: dict[str, Any] | None = Field(
        default=None,
        description="The slicer's firm figures for the order's printer (status, slicer,"
        " profile, figures), or null before a slice was requested. The price stays as"
        " charged.",
    )


class StaffNote(BaseModel):
    """A note on an order as kept on the order."""

    id: str
    note: str
    is_internal: bool
    actor: str


class AssignedPrinter(BaseModel):
    """The printer an order is on; `name` is null if the printer was deleted since."""

    id: str
    name: str | None


class StaffOrder(_OrderCommon):
    """Everything staff need: customer, every cost line, notes and the stream version."""

    customer_id: str
    customer_email: str
    price: StaffPrice
    settings_version: int
    version: int
    staff_notes: list[StaffNote]
    printer: AssignedPrinter | None = Field(
        description="The printer the order is assigned to (null: unassigned)."
    )


class PlacedOrder(BaseModel):
    """A checkout's order, its payment (with the UPI intent to pay it) and the log position
    the order wrote."""

    order: CustomerOrder
    payment: PaymentView
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


class MoneyTally(BaseModel):
    """Orders placed and paid and their money, in rupees."""

    ordered_orders: int = Field(description="Orders placed (cancelled ones included).")
    ordered_total: float
    paid_orders: int
    paid_total: float


class DayRevenue(MoneyTally):
    """One UTC day: orders placed that day, and payments confirmed that day."""

    date: str = Field(description="The UTC day, YYYY-MM-DD.")


class MaterialRevenue(MoneyTally):
    """One material: its orders and their money (payments credited to the order's material)."""

    material: str


class PrinterUtilisation(BaseModel):
    """A printer's assigned work: queued (pending/confirmed) and printing, in print hours."""

    printer_id: str
    name: str = Field(description="The printer's name ('' if it has since been deleted).")
    queued_orders: int
    queued_hours: float
    printing_orders: int
    printing_hours: float


class Stats(BaseModel):
    """The admin dashboard."""

    orders_by_status: dict[str, int]
    total_orders: int
    revenue: Revenue
    revenue_by_day: list[DayRevenue] = Field(description="Oldest first, one entry per day.")
    top_materials: list[MaterialRevenue] = Field(description="By ordered money, largest first.")
    printer_utilisation: list[PrinterUtilisation] = Field(
        description="Active printers and printers with queued or printing work, by name."
    )
    recent_activity: list[Activity]


class EligiblePrinter(BaseModel):
    """One printer ranked for an order (see README "Print config" for the score)."""

    printer_id: str
    name: str
    printer_pincode: str
    active: bool
    verdict: str = Field(description="compatible or incompatible")
    compatible: bool
    reasons: list[str] = Field(description="Why it cannot make the order (empty: it can).")
    distance_km: float | None = Field(
        description="Great-circle km from the order's destination PIN (null: unknown)."
    )
    queued_hours: float = Field(
        description="Print hours already on the printer (pending, confirmed, printing)."
    )
    score: float = Field(description="queued_hours + distance_km / 100; lower is better.")
    current: bool = Field(description="The order is assigned to this printer now.")


class EligiblePrinters(BaseModel):
    """Every printer, compatible ones first, then by score."""

    order_id: str
    printer_id: str | None
    printers: list[EligiblePrinter]


class QueuedOrder(BaseModel):
    """An order assigned to a printer that still needs it."""

    order_id: str
    tracking_number: str
    material: str
    color: str
    quantity: int
    printer_id: str
    printer_name: str | None
    status: str
    print_hours: float
    placed_at: str
    assigned_at: str | None
    slice_status: str | None = Field(
        default=None,
        description="The slice for this printer: queued, slicing, sliced or failed (null: none"
        " requested yet).",
    )
    firm_print_hours: float | None = Field(
        default=None,
        description="The slicer's print time of every copy on this printer, once sliced.",
    )


class PrinterQueue(BaseModel):
    """Orders on the printers asked for (pending, confirmed, printing), oldest placed first."""

    printer_ids: list[str]
    orders: list[QueuedOrder]
    total_hours: float
