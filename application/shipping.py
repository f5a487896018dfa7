"""Shipping use cases: PIN look-ups, shipping partners, and the shipping line of a quote."""

from __future__ import annotations

import contextlib
import threading
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from application.base import FabApplication
from application.ports import PinDirectory, PinPlace
from domain.errors import Conflict, InvalidInput, NotFound
from domain.fleet.shipping_partners import (
    DEFAULT_SLUG,
    SPEED_POST_SPEC,
    ShippingPartner,
    partner_id_for,
    partner_spec,
)
from domain.shipping import FULFILLMENT_METHODS, route_between, shipping_paise, validate_pincode

MAX_SEARCH_RESULTS = 50


class ShippingApp(FabApplication):
    """Shipping partners (one stream each) and the PIN directory that prices routes."""

    name = "shipping"

    def __init__(self, pins: PinDirectory, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self.pins = pins
        self._lock = threading.Lock()
        # Partners keyed by the log position they were read at: another process's change
        # moves the position, so a quote never prices with a partner that changed elsewhere.
        self._cached: tuple[int, list[ShippingPartner]] | None = None

    def seed_defaults(self) -> None:
        """Add India Post Speed Post when it has never existed (safe to repeat)."""
        if self.find(partner_id_for(DEFAULT_SLUG), ShippingPartner) is None:
            # Another process may have seeded it first: theirs stands.
            with contextlib.suppress(IntegrityError):
                self.save(ShippingPartner.register(SPEED_POST_SPEC, actor="system:seed"))

    # --- PIN codes ------------------------------------------------------------------------

    def place(self, pincode: str, field: str = "pin") -> PinPlace:
        """The place of a PIN; 422 if malformed, 404 if India Post has no such PIN."""
        pin = validate_pincode(pincode, field)
        place = self.pins.lookup(pin)
        if place is None:
            raise NotFound(f"PIN code {pin} is not in India Post's directory")
        return place

    def _known(self, pincode: str, field: str) -> PinPlace:
        """The place of a PIN a quote ships to or from: an unknown one is bad input (422)."""
        try:
            return self.place(pincode, field)
        except NotFound as error:
            raise InvalidInput(f"{field}: {error.message}") from error

    def search(self, text: str, limit: int) -> list[PinPlace]:
        """PINs whose district or post office name contains the text."""
        text = text.strip()
        if len(text) < 3:
            raise InvalidInput("q must be at least 3 characters")
        if not 1 <= limit <= MAX_SEARCH_RESULTS:
            raise InvalidInput(f"limit must be 1 to {MAX_SEARCH_RESULTS}")
        return self.pins.search(text, limit)

    def distance_km(self, origin: str, destination: str) -> float | None:
        """Great-circle km between two known PINs (None when one has no coordinates)."""
        first, second = self.place(origin, "origin"), self.place(destination)
        return self.pins.distance_km(first.pincode, second.pincode)

    # --- partners -------------------------------------------------------------------------

    def partners(self) -> list[ShippingPartner]:
        """Every partner not deleted, active or not, by name."""
        position = self.position()
        with self._lock:
            if self._cached is None or self._cached[0] != position:
                found = (self.find(pid, ShippingPartner) for pid in self._partner_ids())
                alive = [p for p in found if p is not None and not p.removed]
                self._cached = (position, sorted(alive, key=lambda p: p.spec["name"].casefold()))
            return list(self._cached[1])

    def partner(self, partner_id: UUID) -> ShippingPartner:
        """One partner, or 404."""
        partner = self.find(partner_id, ShippingPartner)
        if partner is None or partner.removed:
            raise NotFound("shipping partner not found")
        return partner

    def add_partner(self, fields: dict[str, Any], *, actor: str) -> tuple[ShippingPartner, int]:
        """Register a partner; its slug is unique (409 if taken)."""
        spec = partner_spec(**fields)
        existing = self.find(partner_id_for(spec["slug"]), ShippingPartner)
        if existing is None:
            partner = ShippingPartner.register(spec, actor=actor)
        else:
            existing.restore(spec, actor=actor)  # 409 unless it was deleted
            partner = existing
        try:
            return partner, self.save_new(partner)
        except Conflict as error:
            raise Conflict(
                f"a shipping partner with slug '{spec['slug']}' already exists"
            ) from error

    def update_partner(
        self, partner_id: UUID, fields: dict[str, Any], *, actor: str
    ) -> tuple[ShippingPartner, int]:
        """Replace a partner's fields; the slug stays."""
        partner = self.partner(partner_id)
        partner.update(partner_spec(**fields, slug=partner.spec["slug"]), actor=actor)
        return partner, self.save_new(partner)

    def remove_partner(self, partner_id: UUID, *, actor: str) -> int:
        """Delete a partner (its history stays in its stream)."""
        partner = self.partner(partner_id)
        partner.remove(actor=actor)
        return self.save_new(partner)

    def choose(self, method: str | None) -> ShippingPartner:
        """The partner a quote names by id or slug; Speed Post when none is named."""
        wanted = (method or DEFAULT_SLUG).strip()
        everyone = self.partners()
        for partner in everyone:
            if wanted.casefold() in (partner.spec["slug"], str(partner.id)):
                if not partner.active:
                    raise InvalidInput(f"shipping_method '{wanted}' is not available right now")
                return partner
        choices = ", ".join(p.spec["slug"] for p in everyone if p.active) or "none"
        raise InvalidInput(f"unknown shipping_method '{wanted}'; choose one of {choices}")

    # --- the quote's shipping line --------------------------------------------------------

    def shipping_paise(
        self,
        *,
        fulfillment: str,
        weight_g: float,
        origin_pincode: str,
        destination_pincode: str | None,
        method: str | None = None,
    ) -> int:
        """Shipping in paise incl. the carrier's GST: zero for pickup, else the partner's tariff."""
        if fulfillment not in FULFILLMENT_METHODS:
            choices = ", ".join(FULFILLMENT_METHODS)
            raise InvalidInput(f"unknown fulfillment '{fulfillment}'; choose one of {choices}")
        if fulfillment == "pickup":
            return 0
        destination = self._known(destination_pincode or "", "shipping_zip")
        origin = self._known(origin_pincode, "origin PIN code")
        partner = self.choose(method)
        route = route_between(
            self.pins.distance_km(origin.pincode, destination.pincode),
            origin.districts,
            destination.districts,
        )
        return shipping_paise(partner.rates, route, weight_g)

    def _partner_ids(self) -> list[UUID]:
        """Ids of every partner ever registered, read from the log (a short list)."""
        registered = self.recorder.select_notifications(
            start=None, limit=10_000, topics=[get_topic(ShippingPartner.Registered)]
        )
        return [UUID(str(n.originator_id)) for n in registered]
