"""The slice flow: follows the ordering log and requests the slice each order needs.

A placed order is sliced for the printer that priced it; an order put on a printer is
sliced for that printer (its G-code is what staff download). Commands only, idempotent
(application.slicing.OrderSlicing): a repeated batch changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from application.slicing import OrderSlicing
from projections.base import Cursor, EventRecord
from projections.payment_flow import Flow, streams_with

_SLICED_AFTER = ("Placed", "PrinterAssigned")


class SliceFlow(Flow):
    """Requests (and notes) the slice job of each order placed or assigned in a batch."""

    name = "slice_flow"

    def __init__(self, orders: OrderSlicing) -> None:
        self.orders = orders

    def apply(self, cur: Cursor, events: Sequence[EventRecord]) -> None:
        """Each order once per batch, in log order."""
        for order_id in streams_with(events, _SLICED_AFTER):
            self.orders.order_changed(order_id)
