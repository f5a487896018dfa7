"""Process managers: followers of a log whose effect is commands, not rows.

They run on the projection runner (batches, a tracked position compared-and-set in the view
database), but what they do lands in event streams: `PaymentFlow` follows the payments log
and settles each confirmed payment; `RefundFlow` follows the ordering log and records the
refund of each paid order that is cancelled. A batch's commands come before its position is
stored, so a crash repeats them; every command is idempotent (application.settlement), so
repeating one changes nothing. Neither is rebuilt: there is no view to drop.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

from application.settlement import Settlement
from domain.orders import CANCELLED
from projections.base import Cursor, EventRecord, Projection

# Payment events after which card refunds may be due (a Confirmed can carry one: an excess).
_REFUNDING = ("RefundDue", "Confirmed", "Received")


class Flow(Projection):
    """A follower with no tables of its own: only its position is kept."""

    pauses_gc = False  # its batches issue commands (I/O), they build no large fold

    def create(self, cur: Cursor) -> None:
        """Nothing to create: the runner keeps the position."""

    def drop(self, cur: Cursor) -> None:
        """Nothing to drop: a flow's effects live in event streams."""

    def dump(self, cur: Cursor) -> Iterator[tuple[Any, ...]]:
        """No rows."""
        return iter(())


class PaymentFlow(Flow):
    """Settles confirmed payments (orders confirmed, invoice issued) and sends card refunds."""

    name = "payment_flow"

    def __init__(self, settlement: Settlement) -> None:
        self.settlement = settlement

    def apply(self, cur: Cursor, events: Sequence[EventRecord]) -> None:
        """Settle each payment confirmed in the batch, then send its card refunds."""
        confirmed = streams_with(events, ("Confirmed",))
        refunding = streams_with(events, _REFUNDING)
        for payment_id in confirmed:
            self.settlement.settle(payment_id)
        for payment_id in refunding:
            self.settlement.send_card_refunds(payment_id)


class RefundFlow(Flow):
    """Records the refund due of every paid order that is cancelled."""

    name = "refund_flow"

    def __init__(self, settlement: Settlement) -> None:
        self.settlement = settlement

    def apply(self, cur: Cursor, events: Sequence[EventRecord]) -> None:
        """A cancellation in the batch: the order's payment owes its money back."""
        cancelled = [
            e for e in events if e.type == "StatusChanged" and e.data["to_status"] == CANCELLED
        ]
        for order_id in streams_with(cancelled, ("StatusChanged",)):
            self.settlement.order_cancelled(order_id)


def streams_with(events: Sequence[EventRecord], types: tuple[str, ...]) -> list[UUID]:
    """The streams with an event of these types in the batch, each once, in log order."""
    seen: dict[str, None] = {}
    for e in events:
        if e.type in types:
            seen.setdefault(e.originator_id, None)
    return [UUID(stream) for stream in seen]
