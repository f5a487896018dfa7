"""Tax invoices: a number from the year's series when a payment is confirmed, and the PDF.

Issuing allots the next number of the financial year's InvoiceSeries and records it on
the payment (`InvoiceIssued`, with what the invoice states that may change later: the
seller, the tax code in force, the buyer and place of supply) in one save, so a number is
never allotted without its invoice, nor twice. The PDF is rendered from that event and the
orders' Placed events only: downloading it again gives the same document.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import date, datetime
from typing import Any, Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

from application.ordering import OrderingApp
from application.payments import Payments, PaymentsApp
from application.ports import PinDirectory
from domain.errors import Conflict, NotFound
from domain.india_states import BY_CODE, find_state
from domain.invoice_numbers import InvoiceSeries, financial_year, normalise_prefix, series_id
from domain.invoices import Invoice, Party, build_invoice, code_on, part_from_price
from domain.orders import Order
from domain.payments import Payment, payment_id_for
from domain.shop.invoicing import (
    PREFIX_SETTING,
    SELLER_SETTING,
    TAX_CODES_SETTING,
    seller_party,
    tax_codes,
)

INDIA = ZoneInfo("Asia/Kolkata")  # an invoice's date, and so its financial year, is Indian
ISSUE_RETRIES = 50  # concurrent confirmations race for the year's series
ACTOR = "system:invoices"


def today_in_india() -> date:
    """The date in India now."""
    return datetime.now(INDIA).date()


class InvoiceRenderer(Protocol):
    """Draws an invoice as a PDF (infra.invoice_pdf)."""

    def __call__(self, invoice: Invoice) -> bytes:
        """The PDF's bytes; the same invoice gives the same bytes."""
        ...


class Invoices:
    """Issues invoice numbers and renders invoices of single and group orders."""

    def __init__(
        self,
        payments: Payments,
        pins: PinDirectory,
        render: InvoiceRenderer,
        today: Callable[[], date] = today_in_india,
    ) -> None:
        self.payments = payments
        self.pins = pins
        self.render = render
        self.today = today
        self._cached: dict[UUID, InvoiceSeries] = {}  # series by id, as last saved or read
        self._lock = threading.Lock()

    @property
    def app(self) -> PaymentsApp:
        """The payments log, where series and invoices are recorded."""
        return self.payments.app

    @property
    def ordering(self) -> OrderingApp:
        """The orders the invoices list."""
        return self.payments.ordering

    def issue(self, payment_id: UUID) -> str | None:
        """Allot the payment's invoice number once it is confirmed; its number (None before)."""
        for attempt in range(ISSUE_RETRIES):
            payment = self.app.get_payment(payment_id)
            if not payment.is_confirmed:
                return None
            if payment.invoice_number is not None:
                return payment.invoice_number
            day = self.today()
            fy = financial_year(day)
            prefix = normalise_prefix(str(self.payments.shop.value(PREFIX_SETTING)))
            series = self._series(prefix, fy)
            number = series.allot(str(payment.id), ACTOR)
            payment.issue_invoice(number, self._statement(payment, day), actor=ACTOR)
            try:
                self.app.save_new(series, payment)
            except Conflict:
                time.sleep(0.0005 * attempt)  # another confirmation took the next number
                continue
            with self._lock:
                self._cached[series.id] = series  # as saved: the next invoice copies it
            return number
        raise Conflict("the invoice series is busy; the payment flow will retry")

    def _series(self, prefix: str, fy: str) -> InvoiceSeries:
        """The year's series now: a copy of the last one seen, brought up to date with the
        events since (a year's series grows to thousands of events; replaying it for every
        invoice would not scale), or a new one."""
        stream = series_id(prefix, fy)
        with self._lock:
            cached = self._cached.get(stream)
        if cached is None:
            found = self.app.find(stream, InvoiceSeries)
            return found or InvoiceSeries.open(prefix, fy, ACTOR)
        return self.app.fast_forward(copy.deepcopy(cached))

    def _statement(self, payment: Payment, day: date) -> dict[str, Any]:
        """What the invoice states that settings or addresses could change later."""
        seller = dict(self.payments.shop.value(SELLER_SETTING))
        codes = tax_codes(self.payments.shop.value(TAX_CODES_SETTING))
        code = asdict(code_on(day, codes))
        order = self.ordering.get_order(UUID(payment.order_ids[0]))
        buyer, place = self._buyer(order, seller["state_code"])
        return {
            "issued_on": day.isoformat(),
            "seller": seller,
            "tax_code": {k: str(v) for k, v in code.items()},
            "buyer": buyer,
            "place_of_supply": place,
            "paid_paise": payment.received_paise,
        }

    def _buyer(self, order: Order, seller_state: str) -> tuple[dict[str, Any], str]:
        """The buyer as the order names them, and the place of supply (a state code).

        Goods delivered: the delivery address's state. Collected at the shop: the shop's
        state (the place of supply of goods is where they are handed over).
        """
        address = order.shipping_address
        if order.fulfillment != "shipping" or not address:
            lines = [order.customer_email, "Collected at the shop"]
            return {
                "name": order.customer_email,
                "address_lines": lines,
                "state_code": seller_state,
                "gstin": None,
            }, seller_state
        state = find_state(address.get("state", "") or "")
        if state is None:
            place = self.pins.lookup(address.get("zip", ""))
            state = find_state(place.state) if place and place.state else None
        code = state.code if state else seller_state
        lines = [
            *address["address"].splitlines(),
            f"{address['city']} {address['zip']}".strip(),
            BY_CODE[code].name.title() + f" ({code})",
        ]
        return {
            "name": address["name"],
            "address_lines": lines,
            "state_code": code,
            "gstin": None,
        }, code

    # --- reading ---------------------------------------------------------------------

    def invoice_of(self, payment: Payment) -> Invoice:
        """The invoice the payment's InvoiceIssued and its orders' prices make."""
        issued = self._issued(payment)
        orders = [self.ordering.get_order(UUID(i)) for i in payment.order_ids]
        tax = issued["tax_code"]
        return build_invoice(
            number=issued["number"],
            issued_on=date.fromisoformat(issued["issued_on"]),
            seller=seller_party(issued["seller"]),
            buyer=_party(issued["buyer"]),
            place_of_supply=issued["place_of_supply"],
            parts=[
                part_from_price(o.tracking_number, _description(o), o.quantity, o.price)
                for o in orders
            ],
            code=tax_codes([tax])[0],
            paid_paise=issued["paid_paise"],
            upi_link=None,
        )

    def _issued(self, payment: Payment) -> dict[str, Any]:
        """The payment's InvoiceIssued details with its number, from the stream."""
        for event in self.app.events.get(payment.id):
            if type(event).__name__ == "InvoiceIssued":
                return {**event.details, "number": event.number}  # type: ignore[attr-defined]
        raise Conflict("no invoice yet: the order is not paid")

    def pdf_for_order(self, order_id: UUID, customer_id: str | None) -> tuple[str, bytes]:
        """The invoice PDF of the payment covering an order (a group's whole invoice)."""
        order = self.ordering.find(order_id, Order)
        if order is None or (customer_id is not None and order.customer_id != customer_id):
            raise NotFound("order not found")
        return self._pdf(order.group_id or str(order.id))

    def pdf_for_group(self, group_id: str, customer_id: str | None) -> tuple[str, bytes]:
        """The invoice PDF of a group order."""
        payment = self.app.find(payment_id_for(group_id), Payment)
        if payment is None or (customer_id is not None and payment.customer_id != customer_id):
            raise NotFound("order group not found")
        return self._pdf(group_id)

    def _pdf(self, covers: str) -> tuple[str, bytes]:
        return self.pdf_for_payment(payment_id_for(covers))

    def pdf_for_payment(self, payment_id: UUID) -> tuple[str, bytes]:
        """The invoice PDF of a payment (its file name and bytes); 409 before it is issued."""
        payment = self.app.find(payment_id, Payment)
        if payment is None or payment.invoice_number is None:
            raise Conflict("no invoice yet: the order is not paid")
        invoice = self.invoice_of(payment)
        filename = invoice.number.replace("/", "-") + ".pdf"
        return filename, self.render(invoice)


def _party(data: Mapping[str, Any]) -> Party:
    return Party(
        name=data["name"],
        address_lines=tuple(data["address_lines"]),
        state_code=data["state_code"],
        gstin=data["gstin"],
    )


def _description(order: Order) -> str:
    """An invoice line's words for an order: what was printed, in what."""
    name = str(order.model.get("filename") or "model")
    return f"3D printed part: {name}, {order.material} {order.color}, {order.infill_pct:g}% infill"
