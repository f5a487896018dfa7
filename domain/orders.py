"""The Order aggregate: one stream per printed part, from placement to delivery."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, InvalidInput
from domain.money import paise_from_legacy_rupees
from domain.pricing import upcast_price_v1

PENDING = "pending"
CONFIRMED = "confirmed"
PRINTING = "printing"
POST_PROCESSING = "post_processing"
SHIPPED = "shipped"
DELIVERED = "delivered"
CANCELLED = "cancelled"

# An order needs (and may change) its printer until printing is over.
ASSIGNABLE = (PENDING, CONFIRMED, PRINTING)

STATUSES = (PENDING, CONFIRMED, PRINTING, POST_PROCESSING, SHIPPED, DELIVERED, CANCELLED)

# The production line only moves forward; cancelling is allowed until printing starts.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    PENDING: (CONFIRMED, CANCELLED),
    CONFIRMED: (PRINTING, CANCELLED),
    PRINTING: (POST_PROCESSING,),
    POST_PROCESSING: (SHIPPED,),
    SHIPPED: (DELIVERED,),
    DELIVERED: (),
    CANCELLED: (),
}

FULFILMENTS = ("pickup", "shipping")
SHIPPING_FIELDS = ("name", "address", "city", "zip")
MAX_NOTE_LENGTH = 4000


def payment_amount_paise(data: Mapping[str, Any]) -> int:
    """The amount of a stored PaymentConfirmed of either version (raw-event readers use it)."""
    if "amount_paise" in data:
        return int(data["amount_paise"])
    return paise_from_legacy_rupees(data["amount"])


class Order(Aggregate):
    """A customer's order for one printed part, with its full quoted price."""

    class Placed(Aggregate.Created):
        """An order was placed; `price` is a PriceBreakdown in its stored form.

        Version 2: money in the price is integer paise (version 1 held rupee floats).
        """

        class_version = 2

        customer_id: str
        customer_email: str
        tracking_number: str
        group_id: str | None
        model: dict[str, Any]
        material: str
        color: str
        quantity: int
        infill_pct: float
        fulfillment: str
        priority: bool
        shipping_address: dict[str, str] | None
        customer_notes: str
        price: dict[str, Any]
        settings_version: int
        request_fingerprint: str
        actor: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Rupee floats in the price become integer paise."""
            state["price"] = upcast_price_v1(state["price"])

    class PaymentConfirmed(Aggregate.Event):
        """The order was paid; version 2 holds the amount in paise (version 1: rupee float)."""

        class_version = 2

        method: str
        reference: str
        amount_paise: int
        actor: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """The rupee float `amount` becomes `amount_paise`."""
            state["amount_paise"] = paise_from_legacy_rupees(state.pop("amount"))

    class PrinterAssigned(Aggregate.Event):
        """The order was assigned to a printer (`printer_id` None: taken off its printer)."""

        printer_id: str | None
        previous_printer_id: str | None
        actor: str

    @event(Placed)
    def __init__(
        self,
        *,
        id: UUID,  # the stream id, chosen by place()
        customer_id: str,
        customer_email: str,
        tracking_number: str,
        group_id: str | None,
        model: dict[str, Any],
        material: str,
        color: str,
        quantity: int,
        infill_pct: float,
        fulfillment: str,
        priority: bool,
        shipping_address: dict[str, str] | None,
        customer_notes: str,
        price: dict[str, Any],
        settings_version: int,
        request_fingerprint: str,
        actor: str,
    ) -> None:
        self.customer_id = customer_id
        self.customer_email = customer_email
        self.tracking_number = tracking_number
        self.group_id = group_id
        self.model = model
        self.material = material
        self.color = color
        self.quantity = quantity
        self.infill_pct = infill_pct
        self.fulfillment = fulfillment
        self.priority = priority
        self.shipping_address = shipping_address
        self.customer_notes = customer_notes
        self.price = price
        self.settings_version = settings_version
        self.request_fingerprint = request_fingerprint
        self.status = PENDING
        self.is_paid = False
        self.carrier_tracking: dict[str, str | None] | None = None
        self.notes: list[dict[str, Any]] = []
        self.printer_id: str | None = None

    @classmethod
    def place(cls, *, order_id: UUID, **details: Any) -> Order:
        """Place a new order after checking the details a customer chose."""
        if details["fulfillment"] not in FULFILMENTS:
            raise InvalidInput("fulfillment must be 'pickup' or 'shipping'")
        if details["fulfillment"] == "shipping":
            address = details.get("shipping_address") or {}
            missing = [f"shipping_{k}" for k in SHIPPING_FIELDS if not address.get(k, "").strip()]
            if missing:
                raise InvalidInput(f"shipping orders need {', '.join(missing)}")
        return cls(id=order_id, **details)

    def coupon_to_give_back(self) -> str | None:
        """The code of the coupon whose use this order returns: cancelled before payment."""
        coupon = self.price.get("coupon")
        if self.status != CANCELLED or self.is_paid or not coupon:
            return None
        return str(coupon["code"])

    # --- commands -----------------------------------------------------------------

    def change_status(self, to_status: str, *, actor: str) -> None:
        """Move the order along the production line, refusing illegal moves."""
        if to_status not in STATUSES:
            raise InvalidInput(
                f"unknown status '{to_status}'; expected one of {', '.join(STATUSES)}"
            )
        if to_status not in TRANSITIONS[self.status]:
            allowed = ", ".join(TRANSITIONS[self.status]) or "none (final state)"
            raise Conflict(
                f"cannot move order from '{self.status}' to '{to_status}'; "
                f"allowed from '{self.status}': {allowed}"
            )
        self._status_changed(from_status=self.status, to_status=to_status, actor=actor)

    def confirm_payment(self, *, method: str, reference: str, actor: str) -> None:
        """Record that the order is paid; a pending order becomes confirmed."""
        if self.is_paid:
            raise Conflict("order is already paid")
        if self.status == CANCELLED:
            raise Conflict("cannot take payment for an order in state 'cancelled'")
        self._payment_confirmed(
            method=method, reference=reference, amount_paise=self.price["total_paise"], actor=actor
        )
        if self.status == PENDING:
            self._status_changed(from_status=PENDING, to_status=CONFIRMED, actor=actor)

    def set_carrier_tracking(
        self, *, tracking_number: str, tracking_url: str | None, shipping_id: str | None, actor: str
    ) -> None:
        """Attach the carrier's tracking details to a shipping order."""
        if not tracking_number.strip():
            raise InvalidInput("tracking_number must not be empty")
        if self.status == CANCELLED:
            raise Conflict("cannot set tracking on an order in state 'cancelled'")
        self._carrier_tracking_set(
            tracking_number=tracking_number.strip(),
            tracking_url=tracking_url,
            shipping_id=shipping_id,
            actor=actor,
        )

    def add_note(self, *, note_id: str, text: str, is_internal: bool, actor: str) -> None:
        """Add a staff note; internal notes are never shown to the customer."""
        text = text.strip()
        if not text:
            raise InvalidInput("note must not be empty")
        if len(text) > MAX_NOTE_LENGTH:
            raise InvalidInput(f"note must be at most {MAX_NOTE_LENGTH} characters")
        self._note_added(note_id=note_id, text=text, is_internal=is_internal, actor=actor)

    def assign_printer(
        self, printer_id: str | None, *, actor: str, refusals: Sequence[str] = ()
    ) -> bool:
        """Put the order on a printer (None: take it off); False when nothing changes.

        Allowed while the order still needs a printer (pending, confirmed, printing: a
        failed print may move to another machine); `refusals` are the printer's reasons it
        cannot make the order (domain.fleet.eligibility), each named in the 409.
        """
        if self.status not in ASSIGNABLE:
            raise Conflict(
                f"cannot change the printer of an order in state '{self.status}'; "
                f"allowed in: {', '.join(ASSIGNABLE)}"
            )
        if printer_id == self.printer_id:
            return False  # assigning the same printer again (or unassigning twice) is a no-op
        if printer_id is not None and refusals:
            raise Conflict(f"the printer cannot make this order: {'; '.join(refusals)}")
        self._printer_assigned(
            printer_id=printer_id, previous_printer_id=self.printer_id, actor=actor
        )
        return True

    # --- events (bodies only mutate: validation happened above) --------------------

    @event("StatusChanged")
    def _status_changed(self, from_status: str, to_status: str, actor: str) -> None:
        self.status = to_status

    @event(PaymentConfirmed)
    def _payment_confirmed(
        self, method: str, reference: str, amount_paise: int, actor: str
    ) -> None:
        self.is_paid = True

    @event("CarrierTrackingSet")
    def _carrier_tracking_set(
        self, tracking_number: str, tracking_url: str | None, shipping_id: str | None, actor: str
    ) -> None:
        self.carrier_tracking = {
            "tracking_number": tracking_number,
            "tracking_url": tracking_url,
            "shipping_id": shipping_id,
        }

    @event(PrinterAssigned)
    def _printer_assigned(
        self, printer_id: str | None, previous_printer_id: str | None, actor: str
    ) -> None:
        self.printer_id = printer_id

    @event("NoteAdded")
    def _note_added(self, note_id: str, text: str, is_internal: bool, actor: str) -> None:
        self.notes.append({"id": note_id, "note": text, "is_internal": is_internal, "actor": actor})
