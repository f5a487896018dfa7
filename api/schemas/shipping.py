"""PIN code look-ups and shipping partners."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PinPlaceInfo(BaseModel):
    """A PIN code: its districts, state, postal zone and centroid."""

    pincode: str
    state: str | None
    districts: list[str]
    zone: str = Field(description="India Post zone of the PIN's first digit, e.g. Southern.")
    region: str = Field(description="The states the PIN's postal region serves.")
    latitude: float | None = Field(description="Centroid of the PIN's post offices.")
    longitude: float | None
    offices: list[str] = Field(description="Post offices serving the PIN, head office first.")
    distance_km: float | None = Field(
        default=None,
        description="Great-circle km from `origin` (when given), to 0.1 km; null without it.",
    )


class PinLookup(BaseModel):
    """The PINs found, and the dataset they come from (its licence asks for credit)."""

    results: list[PinPlaceInfo]
    source: str
    data_version: str


class BandRatesInfo(BaseModel):
    """One row of a tariff: paise per weight slab, and per step beyond the last slab."""

    up_to_km: int | None
    prices_paise: list[int]
    extra_step_paise: int


class RateTableInfo(BaseModel):
    """Weight slabs by distance bands, integer paise before the carrier's 18 % GST."""

    slabs_g: list[int]
    step_g: int
    bands: list[BandRatesInfo]
    local: BandRatesInfo | None


class ShippingPartnerInfo(BaseModel):
    """A carrier the shop ships with."""

    id: str
    name: str
    slug: str = Field(description="What /api/quote's shipping_method may name (or the id).")
    tracking_url_template: str
    rate_table: RateTableInfo
    active: bool
    is_default: bool = Field(description="Quotes use this partner when none is named.")


class ShippingPartnerList(BaseModel):
    """Every shipping partner, active or not, by name."""

    partners: list[ShippingPartnerInfo]


class ChangedShippingPartner(BaseModel):
    """A partner after a change, and the log position that wrote it."""

    partner: ShippingPartnerInfo
    position: int


class RemovedShippingPartner(BaseModel):
    """A deleted partner's id, and the log position that wrote the deletion."""

    id: str
    deleted: bool
    position: int
