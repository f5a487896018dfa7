"""Shipping rules: PIN format and postal zones, great-circle distance, rate tables in paise."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from typing import Any

from domain.errors import InvalidInput

FULFILLMENT_METHODS = ("pickup", "shipping")

# Box, bubble wrap and label of a typical small-parts parcel; carriers weigh the parcel,
# not the parts, so this is always added before picking the slab.
PACKAGING_G = 100

# Postal and courier services carry 18 % GST. It is the carrier's tax, so it is part of the
# shipping price we pass on; our own GST (the cost engine's) never applies to shipping.
# Rate tables hold prices before this GST.
POSTAL_GST_PCT = 18

# Mean Earth radius (IUGG), the usual constant of the haversine formula.
EARTH_RADIUS_KM = 6371.0

_PIN = re.compile(r"[1-9][0-9]{5}")

# India Post's PIN zones, from the first digit: (zone, the states its region serves).
POSTAL_REGIONS: dict[str, tuple[str, str]] = {
    "1": ("Northern", "Delhi, Haryana, Punjab, Himachal Pradesh, Jammu & Kashmir, Ladakh"),
    "2": ("Northern", "Uttar Pradesh, Uttarakhand"),
    "3": ("Western", "Rajasthan, Gujarat, Dadra & Nagar Haveli and Daman & Diu"),
    "4": ("Western", "Maharashtra, Goa, Madhya Pradesh, Chhattisgarh"),
    "5": ("Southern", "Andhra Pradesh, Telangana, Karnataka"),
    "6": ("Southern", "Tamil Nadu, Kerala, Puducherry, Lakshadweep"),
    "7": ("Eastern", "West Bengal, Odisha, the North-East, Andaman & Nicobar"),
    "8": ("Eastern", "Bihar, Jharkhand"),
    "9": ("Army Postal Service", "Army Postal Service"),
}


def validate_pincode(value: object, field: str = "shipping_zip") -> str:
    """Return the PIN as 6 digits (spaces removed) or refuse it."""
    text = value.replace(" ", "") if isinstance(value, str) else ""
    if not _PIN.fullmatch(text):
        raise InvalidInput(f"{field} must be a 6-digit Indian PIN code")
    return text


def postal_region(pincode: str) -> tuple[str, str]:
    """The PIN's zone and the states its region serves (read from its first digit)."""
    return POSTAL_REGIONS[validate_pincode(pincode, "pin")[0]]


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance between two points on a spherical Earth, in km."""
    dlat = math.radians(lat2 - lat1)
    dlon = math.radians(lon2 - lon1)
    h = (
        math.sin(dlat / 2) ** 2
        + math.cos(math.radians(lat1)) * math.cos(math.radians(lat2)) * math.sin(dlon / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class Route:
    """Between origin and destination: the centroids' distance, and whether it is local."""

    # None when the dataset has no coordinates for one end: priced at the farthest band.
    distance_km: float | None
    # Same revenue district (the carrier's own city delivery area), e.g. Speed Post "local".
    local: bool


def route_between(
    distance_km: float | None, origin_districts: Iterable[str], destination_districts: Iterable[str]
) -> Route:
    """A route is local when both PINs lie in a common district."""
    shared = {d.casefold() for d in origin_districts} & {
        d.casefold() for d in destination_districts
    }
    return Route(distance_km=distance_km, local=bool(shared))


MAX_SLABS = 20
MAX_BANDS = 20
MAX_PRICE_PAISE = 10_000_000  # ₹1 lakh for one parcel: anything above is a typo


def _whole(value: object, what: str, *, low: int, high: int) -> int:
    # bool is an int in Python; a rate of True paise is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{what} must be a whole number from {low} to {high}")
    return value


@dataclass(frozen=True)
class BandRates:
    """One row of a rate table: a price per weight slab and per step beyond the last slab."""

    up_to_km: int | None  # None on the open last band (and on the local row)
    prices_paise: tuple[int, ...]
    extra_step_paise: int

    def to_dict(self) -> dict[str, Any]:
        """Primitive form, safe to store in an event."""
        return {
            "up_to_km": self.up_to_km,
            "prices_paise": list(self.prices_paise),
            "extra_step_paise": self.extra_step_paise,
        }


@dataclass(frozen=True)
class RateTable:
    """A carrier's tariff: weight slabs by distance bands, integer paise before postal GST."""

    slabs_g: tuple[int, ...]  # ascending upper bounds (inclusive) of the weight slabs
    step_g: int  # beyond the last slab, each further step_g or part of it costs a step
    bands: tuple[BandRates, ...]  # ascending up_to_km (inclusive); the last one is open
    local: BandRates | None = None  # same-district prices; None: local is priced by distance

    def __post_init__(self) -> None:
        if not 1 <= len(self.slabs_g) <= MAX_SLABS:
            raise InvalidInput(f"rate table needs 1 to {MAX_SLABS} weight slabs")
        for grams in self.slabs_g:
            _whole(grams, "slabs_g", low=1, high=1_000_000)
        if any(b <= a for a, b in pairwise(self.slabs_g)):
            raise InvalidInput("slabs_g must be strictly ascending (slabs may not overlap)")
        _whole(self.step_g, "step_g", low=1, high=1_000_000)
        if not 1 <= len(self.bands) <= MAX_BANDS:
            raise InvalidInput(f"rate table needs 1 to {MAX_BANDS} distance bands")
        limits = [band.up_to_km for band in self.bands]
        if limits[-1] is not None or None in limits[:-1]:
            raise InvalidInput(
                "only the last distance band is open (up_to_km null), and it must be"
            )
        bounded = [_whole(km, "up_to_km", low=1, high=100_000) for km in limits[:-1]]
        if any(b <= a for a, b in pairwise(bounded)):
            raise InvalidInput("bands must be sorted by up_to_km, each farther than the last")
        for band in (*self.bands, *((self.local,) if self.local else ())):
            self._check_rates(band)
        if self.local is not None and self.local.up_to_km is not None:
            raise InvalidInput("the local row has no up_to_km: it applies within one district")

    def _check_rates(self, band: BandRates) -> None:
        if len(band.prices_paise) != len(self.slabs_g):
            raise InvalidInput("each band needs one price per weight slab (prices_paise)")
        for price in (*band.prices_paise, band.extra_step_paise):
            _whole(price, "rates (paise)", low=0, high=MAX_PRICE_PAISE)

    def band_for(self, route: Route) -> BandRates:
        """The row that prices this route; the farthest when the distance is unknown."""
        if route.local and self.local is not None:
            return self.local
        if route.distance_km is None:
            return self.bands[-1]
        for band in self.bands:
            # Upper bounds are inclusive, on the unrounded great-circle distance.
            if band.up_to_km is None or route.distance_km <= band.up_to_km:
                return band
        return self.bands[-1]  # pragma: no cover - the last band is open

    def price_paise(self, route: Route, parcel_g: float) -> int:
        """The carrier's price before GST for a parcel of parcel_g on this route."""
        band = self.band_for(route)
        for limit, price in zip(self.slabs_g, band.prices_paise, strict=True):
            if parcel_g <= limit:
                return price
        # "each further step or part thereof": a partial step costs a whole one.
        steps = math.ceil((Decimal(str(parcel_g)) - self.slabs_g[-1]) / self.step_g)
        return band.prices_paise[-1] + steps * band.extra_step_paise

    def to_dict(self) -> dict[str, Any]:
        """Primitive form, safe to store in an event."""
        return {
            "slabs_g": list(self.slabs_g),
            "step_g": self.step_g,
            "bands": [band.to_dict() for band in self.bands],
            "local": self.local.to_dict() if self.local else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RateTable:
        """Rebuild (and validate) from the primitive form."""

        def row(raw: Mapping[str, Any]) -> BandRates:
            return BandRates(
                up_to_km=raw.get("up_to_km"),
                prices_paise=tuple(raw["prices_paise"]),
                extra_step_paise=raw["extra_step_paise"],
            )

        local = data.get("local")
        return cls(
            slabs_g=tuple(data["slabs_g"]),
            step_g=data["step_g"],
            bands=tuple(row(b) for b in data["bands"]),
            local=row(local) if local else None,
        )


def with_postal_gst(paise: int) -> int:
    """The carrier's price plus its 18 % GST, rounded once, half up, to the paisa."""
    return (paise * (100 + POSTAL_GST_PCT) + 50) // 100


def shipping_paise(
    table: RateTable, route: Route, weight_g: float, *, packaging_g: int = PACKAGING_G
) -> int:
    """What the customer pays to ship parts weighing weight_g: tariff + postal GST, in paise."""
    if not isinstance(weight_g, int | float) or not math.isfinite(weight_g) or weight_g < 0:
        raise InvalidInput("parcel weight must be a non-negative number of grams")
    return with_postal_gst(table.price_paise(route, weight_g + packaging_g))


def _rupees(values: Sequence[int]) -> tuple[int, ...]:
    return tuple(rupees * 100 for rupees in values)


def _speed_post_row(up_to_km: int | None, prices: Sequence[int]) -> BandRates:
    # Beyond 500 g the tariff quoted to us stops; each further 500 g or part costs twice the
    # 251-500 g slab's rise over the 51-250 g slab: the last listed slope, extended.
    return BandRates(
        up_to_km=up_to_km,
        prices_paise=_rupees(prices),
        extra_step_paise=2 * (prices[2] - prices[1]) * 100,
    )


# India Post Speed Post (documents), from 1 Oct 2025, INR before GST. Slabs up to 50 g,
# 51-250 g, 251-500 g; "local" is within one district, the rest by distance band.
SPEED_POST_RATES = RateTable(
    slabs_g=(50, 250, 500),
    step_g=500,
    local=_speed_post_row(None, (19, 24, 28)),
    bands=(
        _speed_post_row(200, (47, 59, 70)),
        _speed_post_row(500, (47, 63, 75)),
        _speed_post_row(1000, (47, 68, 82)),
        _speed_post_row(2000, (47, 72, 86)),
        _speed_post_row(None, (47, 77, 93)),
    ),
)
