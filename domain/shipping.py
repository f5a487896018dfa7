"""Shipping estimate: India Post Speed Post slabs by weight and PIN-derived distance zone."""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from domain.errors import InvalidInput

FULFILLMENT_METHODS = ("pickup", "shipping")

# Box, bubble wrap and label of a typical small-parts parcel; India Post weighs the parcel,
# not the parts, so this is always added before picking the slab.
PACKAGING_G = 100

# India Post charges 18 % GST on Speed Post; it is their tax, so it is part of the shipping
# price we pass on, and our own GST is never applied to shipping.
POSTAL_GST_PCT = Decimal(18)

_CENT = Decimal("0.01")
_PIN = re.compile(r"[1-9][0-9]{5}")


class Zone(StrEnum):
    """Speed Post distance band between the shop and the customer."""

    LOCAL = "local"
    UP_TO_200_KM = "up_to_200_km"
    KM_201_1000 = "201_1000_km"
    KM_1001_2000 = "1001_2000_km"
    ABOVE_2000_KM = "above_2000_km"


# Speed Post inland tariff (INR, before GST), the Oct-2012 table whose slabs are
# up to 50 g / 51-200 g / 201-500 g / each further 500 g or part.
# Columns: (<=50 g, 51-200 g, 201-500 g, each additional 500 g).
TARIFF: dict[Zone, tuple[int, int, int, int]] = {
    Zone.LOCAL: (15, 25, 30, 10),
    Zone.UP_TO_200_KM: (35, 35, 50, 15),
    Zone.KM_201_1000: (35, 40, 60, 30),
    Zone.KM_1001_2000: (35, 60, 80, 40),
    Zone.ABOVE_2000_KM: (35, 70, 90, 50),
}

# Postal regions (first PIN digit) that share a land border, used as the 1001-2000 km band:
# 1 North, 2 UP/Uttarakhand, 3 Rajasthan/Gujarat, 4 Maharashtra/MP/Chhattisgarh,
# 5 AP/Telangana/Karnataka, 6 Tamil Nadu/Kerala, 7 East & North-East, 8 Bihar/Jharkhand,
# 9 Army Postal Service (no neighbours: always the farthest band unless same region).
_NEIGHBOURS: dict[str, frozenset[str]] = {
    "1": frozenset("23"),
    "2": frozenset("1348"),
    "3": frozenset("124"),
    "4": frozenset("23578"),
    "5": frozenset("467"),
    "6": frozenset("5"),
    "7": frozenset("458"),
    "8": frozenset("247"),
    "9": frozenset(),
}


def validate_pincode(value: object, field: str = "shipping_zip") -> str:
    """Return the PIN as 6 digits (spaces removed) or refuse it."""
    text = value.replace(" ", "") if isinstance(value, str) else ""
    if not _PIN.fullmatch(text):
        raise InvalidInput(f"{field} must be a 6-digit Indian PIN code")
    return text


def distance_zone(from_pincode: str, to_pincode: str) -> Zone:
    """Approximate the distance band from PIN prefixes (no geo database needed).

    PINs are hierarchical: digit 1 is the postal region, digits 1-2 the sub-region,
    digits 1-3 the sorting district. Same district counts as local, same sub-region
    as up to 200 km, same region as 201-1000 km, a bordering region as 1001-2000 km,
    anything else as above 2000 km. This is an approximation of road distance.
    """
    a = validate_pincode(from_pincode, "origin PIN code")
    b = validate_pincode(to_pincode)
    if a[:3] == b[:3]:
        return Zone.LOCAL
    if a[:2] == b[:2]:
        return Zone.UP_TO_200_KM
    if a[0] == b[0]:
        return Zone.KM_201_1000
    if b[0] in _NEIGHBOURS[a[0]]:
        return Zone.KM_1001_2000
    return Zone.ABOVE_2000_KM


def shipping_cost(
    weight_g: float, from_pincode: str, to_pincode: str, *, packaging_g: float = PACKAGING_G
) -> Decimal:
    """Speed Post price incl. India Post's 18 % GST for parts weighing weight_g plus packaging."""
    if not isinstance(weight_g, int | float) or not math.isfinite(weight_g) or weight_g < 0:
        raise InvalidInput("parcel weight must be a non-negative number of grams")
    zone = distance_zone(from_pincode, to_pincode)
    upto_50, upto_200, upto_500, per_extra_500 = TARIFF[zone]
    parcel_g = Decimal(str(weight_g)) + Decimal(str(packaging_g))
    if parcel_g <= 50:
        base = Decimal(upto_50)
    elif parcel_g <= 200:
        base = Decimal(upto_200)
    elif parcel_g <= 500:
        base = Decimal(upto_500)
    else:
        # "each additional 500 g or part thereof": a partial step costs a whole step
        extra_steps = math.ceil((parcel_g - 500) / 500)
        base = Decimal(upto_500) + extra_steps * Decimal(per_extra_500)
    return (base * (1 + POSTAL_GST_PCT / 100)).quantize(_CENT, rounding=ROUND_HALF_UP)


def estimate_shipping(
    fulfillment: str, weight_g: float, from_pincode: str, to_pincode: str | None
) -> Decimal:
    """Shipping for an order line: zero for pickup, Speed Post price for shipping."""
    if fulfillment not in FULFILLMENT_METHODS:
        raise InvalidInput(
            f"unknown fulfillment '{fulfillment}'; choose one of {', '.join(FULFILLMENT_METHODS)}"
        )
    if fulfillment == "pickup":
        return Decimal("0.00")
    return shipping_cost(weight_g, from_pincode, to_pincode or "")
