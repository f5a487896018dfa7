"""Promo use cases: staff schedule banners and the homepage popup; the storefront reads them.

Promos are catalog records (the design's catalog context), so they live in the catalog's
store; the list is small and read from the aggregates through a cached StreamListing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from application.catalog import CatalogApp
from application.coupons import Coupons, utc_now
from application.fleet import StreamListing
from domain.errors import InvalidInput, NotFound
from domain.promos import Promo, PromoSpec, showing

# The storefront's homepage reads the promos on every visit: another process's change is
# seen within this long (this process's own at once).
PUBLIC_MAX_AGE_SECONDS = 1.0


class Promos:
    """Scheduled promos and the popup announcement."""

    def __init__(
        self, catalog: CatalogApp, coupons: Coupons, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self.catalog = catalog
        self.coupons = coupons
        self.clock = clock
        self._listing = StreamListing(catalog, Promo.Scheduled, Promo)

    def schedule(self, fields: Mapping[str, Any], *, actor: str) -> tuple[Promo, int]:
        """A new promo; a coupon it names must exist."""
        spec = PromoSpec.parse(fields)
        self._require_coupon(spec)
        promo = Promo.schedule(uuid4(), spec, actor=actor)
        return promo, self.catalog.save_new(promo)

    def get(self, promo_id: UUID) -> Promo:
        """The promo, or NotFound (deleted ones too: they are gone for the storefront)."""
        promo = self.catalog.find(promo_id, Promo)
        if promo is None or promo.deleted:
            raise NotFound("promo not found")
        return promo

    def change(
        self, promo_id: UUID, fields: Mapping[str, Any], *, actor: str
    ) -> tuple[Promo, bool, int]:
        """Change some fields: whether anything changed, and the position written (the head
        when nothing was)."""
        promo = self.get(promo_id)
        changed = promo.change(fields, actor=actor)
        self._require_coupon(promo.current)
        position = self.catalog.save_new(promo) if changed else self.catalog.position()
        return promo, changed, position

    def delete(self, promo_id: UUID, *, actor: str) -> int:
        """Delete the promo (its stream stays)."""
        promo = self.get(promo_id)
        promo.delete(actor=actor)
        return self.catalog.save_new(promo)

    def all(self) -> list[Promo]:
        """Every promo not deleted, newest first."""
        return sorted(self._listing.all(), key=lambda p: p.created_on, reverse=True)

    def showing(self, now: datetime | None = None) -> tuple[Promo | None, list[Promo]]:
        """The popup and the banners the storefront shows now."""
        _, promos = self._listing.snapshot(max_age=PUBLIC_MAX_AGE_SECONDS)
        return showing(promos, now or self.clock())

    def _require_coupon(self, spec: PromoSpec) -> None:
        if spec.coupon_code is not None and self.coupons.find_code(spec.coupon_code) is None:
            raise InvalidInput(f"coupon_code: unknown coupon '{spec.coupon_code}'")
