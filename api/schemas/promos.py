"""Promos and the homepage popup as admins manage them and the storefront shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.text import TextBody


class _Window(TextBody):
    multiline = frozenset({"text"})

    starts_at: datetime | None = Field(default=None, description="With a timezone; null: now.")
    ends_at: datetime | None = Field(default=None, description="With a timezone; null: open.")
    coupon_code: str | None = Field(
        default=None, max_length=32, description="An existing coupon the promo advertises."
    )


class PromoBody(_Window):
    """A new promo: a banner, or the homepage popup (placement "popup")."""

    text: str = Field(min_length=1, max_length=1000)
    title: str = Field(default="", max_length=120)
    link: str = Field(default="", max_length=500, description="http(s) URL or a /path.")
    placement: str = Field(default="banner", max_length=10, description="banner or popup")
    active: bool = True


class PromoChanges(_Window):
    """Fields to change; a field left out keeps its value (null clears a time or coupon)."""

    text: str | None = Field(default=None, min_length=1, max_length=1000)
    title: str | None = Field(default=None, max_length=120)
    link: str | None = Field(default=None, max_length=500)
    placement: str | None = Field(default=None, max_length=10)
    active: bool | None = None


class PublicPromo(BaseModel):
    """A promo as the storefront shows it."""

    id: str
    title: str
    text: str
    link: str
    placement: str
    starts_at: str | None
    ends_at: str | None
    coupon_code: str | None


class PromoInfo(PublicPromo):
    """A promo as admins see it."""

    active: bool
    showing: bool = Field(description="The storefront shows it now (a popup: if it wins).")
    created_at: str
    updated_at: str


class PromoList(BaseModel):
    """Every promo not deleted, newest first."""

    promos: list[PromoInfo]


class ChangedPromo(BaseModel):
    """A promo after a write, and the position the write reached (catalog log)."""

    promo: PromoInfo
    changed: bool
    position: int


class ShowingNow(BaseModel):
    """What the storefront shows now: one popup announcement (or none) and the banners."""

    popup: PublicPromo | None
    promos: list[PublicPromo]
