"""Ordering use cases: staff move orders along; admins read any order's history."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from application.base import FabApplication
from domain.coupons import Coupon, coupon_id_for
from domain.errors import Conflict, InvalidInput, NotFound
from domain.orders import Order

# Crockford's base32 without look-alike letters: easy to read out over the phone.
_TRACKING_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# A cancellation that gives a coupon use back races checkouts on the coupon's stream.
COUPON_RETRIES = 20
# Event attributes that describe the stream rather than the change.
_EVENT_META = ("originator_id", "originator_version", "timestamp", "originator_topic")


def new_tracking_number() -> str:
    """An unguessable, human-friendly tracking number (80 random bits)."""
    chars = "".join(secrets.choice(_TRACKING_ALPHABET) for _ in range(16))
    return "FL-" + "-".join(chars[i : i + 4] for i in range(0, 16, 4))


@dataclass(frozen=True)
class HistoryEntry:
    """One stored event of an order, as an auditor reads it."""

    type: str
    version: int
    timestamp: datetime
    actor: str
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Primitive form for the API."""
        return {
            "type": self.type,
            "version": self.version,
            "timestamp": self.timestamp.isoformat(),
            "actor": self.actor,
            "data": self.data,
        }


class OrderingApp(FabApplication):
    """Orders: one stream per order; the notification log feeds the read models."""

    name = "ordering"

    def get_order(self, order_id: UUID) -> Order:
        """The order, or NotFound."""
        order = self.find(order_id, Order)
        if order is None:
            raise NotFound("order not found")
        return order

    def change_status(self, order_id: UUID, status: str, *, actor: str) -> tuple[Order, int]:
        """Move an order along the FSM; a concurrent change makes this a Conflict.

        Cancelling an unpaid order that redeemed a coupon gives the use back in the same
        save (Coupon.Released): a redemption is never left behind by its order. A race on
        the coupon's stream (a checkout redeeming it) is retried; one on the order is not.
        """
        for _ in range(COUPON_RETRIES):
            order = self.get_order(order_id)
            seen = order.version
            order.change_status(status, actor=actor)
            coupon = self._released_coupon(order, actor)
            if coupon is None:
                return order, self.save_new(order)
            try:
                return order, self.save_new(order, coupon)
            except Conflict:
                if self.get_order(order_id).version != seen:
                    raise  # the order itself changed meanwhile
        raise Conflict("the order's coupon is too busy; retry")

    def _released_coupon(self, order: Order, actor: str) -> Coupon | None:
        """The order's coupon with its use given back, when the order returns one."""
        code = order.coupon_to_give_back()
        coupon = None if code is None else self.find(coupon_id_for(code), Coupon)
        if coupon is None or not coupon.release(order_id=str(order.id), actor=actor):
            return None
        return coupon

    def confirm_payment(
        self, order_id: UUID, *, actor: str, method: str = "manual", reference: str = ""
    ) -> tuple[Order, int]:
        """Mark the order paid (and confirmed if it was pending)."""
        order = self.get_order(order_id)
        order.confirm_payment(method=method, reference=reference, actor=actor)
        return order, self.save_new(order)

    def set_carrier_tracking(
        self,
        order_id: UUID,
        *,
        tracking_number: str,
        tracking_url: str | None,
        shipping_id: str | None,
        actor: str,
    ) -> tuple[Order, int]:
        """Record the carrier's tracking details."""
        order = self.get_order(order_id)
        order.set_carrier_tracking(
            tracking_number=tracking_number,
            tracking_url=tracking_url,
            shipping_id=shipping_id,
            actor=actor,
        )
        return order, self.save_new(order)

    def add_note(
        self, order_id: UUID, *, text: str, is_internal: bool, actor: str
    ) -> tuple[dict[str, Any], int]:
        """Add a note and return it as listed."""
        order = self.get_order(order_id)
        order.add_note(
            note_id=secrets.token_hex(8), text=text, is_internal=is_internal, actor=actor
        )
        position = self.save_new(order)
        return self.notes(order_id)[-1], position

    def notes(self, order_id: UUID, *, include_internal: bool = True) -> list[dict[str, Any]]:
        """The order's notes with the time each was written."""
        return [
            {
                "id": e.data["note_id"],
                "note": e.data["text"],
                "is_internal": e.data["is_internal"],
                "author": e.actor,
                "created_at": e.timestamp.isoformat(),
            }
            for e in self.history(order_id)
            if e.type == "NoteAdded" and (include_internal or not e.data["is_internal"])
        ]

    def history(self, order_id: UUID, as_of: str | None = None) -> list[HistoryEntry]:
        """Every event of the order, oldest first; up to a version or ISO time if given."""
        entries = [_history_entry(event) for event in self.events.get(order_id)]
        if not entries or not entries[0].type == "Placed":
            raise NotFound("order not found")
        if as_of is None:
            return entries
        version = _version_as_of(entries, as_of)
        return [e for e in entries if e.version <= version]

    def order_as_of(self, order_id: UUID, as_of: str) -> Order:
        """The order as it stood at a version number or an ISO-8601 time."""
        version = _version_as_of(self.history(order_id), as_of)
        try:
            order: Order = self.repository.get(order_id, version=version)
        except AggregateNotFoundError as error:
            raise NotFound("order not found") from error
        if not isinstance(order, Order):
            raise NotFound("order not found")
        return order


def _version_as_of(entries: list[HistoryEntry], as_of: str) -> int:
    """The stream version an `as_of` names: a version number, or the last event by a time."""
    if re.fullmatch(r"[0-9]{1,9}", as_of):
        version = int(as_of)
        if version < 1:
            raise InvalidInput("as_of version must be 1 or more")
        return version
    try:
        moment = datetime.fromisoformat(as_of.replace("Z", "+00:00"))
    except ValueError as error:
        raise InvalidInput("as_of must be a version number or an ISO-8601 time") from error
    if moment.tzinfo is None:
        raise InvalidInput("as_of time must include a timezone, e.g. 2026-11-21T10:00Z")
    earlier = [e.version for e in entries if e.timestamp <= moment]
    if not earlier:
        raise NotFound("the order did not exist at that time")
    return earlier[-1]


def _history_entry(event: Any) -> HistoryEntry:
    """An auditor's view of one stored event: what happened, when, by whom."""
    return HistoryEntry(
        type=type(event).__name__,
        version=event.originator_version,
        timestamp=event.timestamp,
        actor=event.__dict__.get("actor", ""),
        data={k: v for k, v in event.__dict__.items() if k not in _EVENT_META and k != "actor"},
    )
