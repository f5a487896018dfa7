"""Stories about shipping estimates: Speed Post slabs, PIN-derived zones, and refusals."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import pytest

from domain.catalog import DEFAULT_COST_SETTINGS, DEFAULT_MATERIALS, DEFAULT_PRINTER
from domain.errors import InvalidInput
from domain.pricing import PartGeometry, quote
from domain.shipping import (
    Zone,
    distance_zone,
    estimate_shipping,
    shipping_cost,
    validate_pincode,
)

BENGALURU = "560001"
PIN_MESSAGE = "shipping_zip must be a 6-digit Indian PIN code"


# --- zones from PIN codes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("to_pincode", "zone"),
    [
        ("560034", Zone.LOCAL),  # Koramangala: same sorting district (560)
        ("562101", Zone.UP_TO_200_KM),  # Chikkaballapur: same sub-region (56)
        ("575001", Zone.KM_201_1000),  # Mangaluru: same postal region (5)
        ("600001", Zone.KM_1001_2000),  # Chennai: Tamil Nadu region borders Karnataka's
        ("110001", Zone.ABOVE_2000_KM),  # New Delhi: far north
        ("751001", Zone.KM_1001_2000),  # Bhubaneswar: region 7 borders region 5 (AP-Odisha)
        ("900099", Zone.ABOVE_2000_KM),  # Army Postal Service: no neighbours
    ],
)
def test_the_zone_is_read_from_the_pin_prefixes(to_pincode: str, zone: Zone) -> None:
    assert distance_zone(BENGALURU, to_pincode) is zone


def test_zones_are_the_same_in_both_directions() -> None:
    pins = [f"{region}{rest}" for region in "123456789" for rest in ("10001", "99999")]
    for a in pins:
        for b in pins:
            assert distance_zone(a, b) is distance_zone(b, a), (a, b)


# --- slabs and India Post GST ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("grams", "base"),
    [
        (10, 15),  # up to 50 g
        (50, 15),
        (51, 25),  # 51-200 g
        (200, 25),
        (201, 30),  # 201-500 g
        (500, 30),
        (501, 40),  # + one 500 g step (or part of one)
        (1000, 40),
        (1001, 50),
        (5000, 30 + 9 * 10),
    ],
)
def test_local_speed_post_slabs_include_india_posts_18_percent_gst(grams: int, base: int) -> None:
    cost = shipping_cost(grams, BENGALURU, "560034", packaging_g=0)
    assert cost == (Decimal(base) * Decimal("1.18")).quantize(Decimal("0.01"))


@pytest.mark.parametrize(
    ("to_pincode", "up_to_50", "upto_200", "upto_500", "per_extra_500"),
    [
        ("562101", 35, 35, 50, 15),
        ("575001", 35, 40, 60, 30),
        ("600001", 35, 60, 80, 40),
        ("110001", 35, 70, 90, 50),
    ],
)
def test_farther_zones_cost_more_per_slab(
    to_pincode: str, up_to_50: int, upto_200: int, upto_500: int, per_extra_500: int
) -> None:
    def cost(grams: int) -> Decimal:
        return shipping_cost(grams, BENGALURU, to_pincode, packaging_g=0)

    assert cost(50) == Decimal(up_to_50) * Decimal("1.18")
    assert cost(150) == Decimal(upto_200) * Decimal("1.18")
    assert cost(400) == Decimal(upto_500) * Decimal("1.18")
    assert cost(1200) == (upto_500 + 2 * per_extra_500) * Decimal("1.18")


def test_packaging_is_weighed_with_the_parts() -> None:
    # 30 g of parts + 100 g of box is a 51-200 g parcel, not a 50 g one.
    assert shipping_cost(30, BENGALURU, "560034") == Decimal("29.50")
    # 401 g of parts + 100 g of box crosses into the first extra 500 g step.
    assert shipping_cost(401, BENGALURU, "560034") == Decimal("47.20")


# --- fulfillment ----------------------------------------------------------------------------


def test_pickup_costs_nothing_and_needs_no_pin() -> None:
    assert estimate_shipping("pickup", 2500.0, BENGALURU, None) == Decimal("0.00")


def test_shipping_needs_a_pin_code() -> None:
    with pytest.raises(InvalidInput) as err:
        estimate_shipping("shipping", 120.0, BENGALURU, None)
    assert err.value.message == PIN_MESSAGE


def test_an_unknown_fulfillment_method_is_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        estimate_shipping("courier", 120.0, BENGALURU, "110001")
    assert err.value.message == "unknown fulfillment 'courier'; choose one of pickup, shipping"


@pytest.mark.parametrize("weight", [-1.0, math.nan, math.inf])
def test_a_parcel_weight_must_be_a_real_number_of_grams(weight: float) -> None:
    with pytest.raises(InvalidInput, match="parcel weight"):
        shipping_cost(weight, BENGALURU, "110001")


# --- PIN format -----------------------------------------------------------------------------


@pytest.mark.parametrize("pin", ["560001", " 560 001 ", "110001"])
def test_a_six_digit_pin_is_accepted_and_normalised(pin: str) -> None:
    assert validate_pincode(pin) == pin.replace(" ", "")


@pytest.mark.parametrize(
    "pin",
    [
        "",
        "56001",
        "5600011",
        "060001",
        "56O001",
        "ABCDEF",
        "\uff15\uff16\uff10\uff10\uff10\uff11",
        None,
        560001,
    ],
)
def test_anything_but_a_six_digit_indian_pin_is_refused(pin: object) -> None:
    with pytest.raises(InvalidInput) as err:
        validate_pincode(pin)
    assert err.value.message == PIN_MESSAGE


def test_a_bad_destination_pin_is_refused_when_estimating() -> None:
    with pytest.raises(InvalidInput, match=PIN_MESSAGE):
        estimate_shipping("shipping", 120.0, BENGALURU, "12345")


# --- a whole order line ---------------------------------------------------------------------


def test_ten_cubes_shipped_from_bengaluru_to_delhi() -> None:
    pla = DEFAULT_MATERIALS[0]
    cube = PartGeometry(20, 20, 20, 8.0)
    settings = DEFAULT_COST_SETTINGS

    # 10 x 4.84 g of parts + 100 g of box = ~148 g: the 51-200 g slab, above 2000 km, ₹70 + 18 %.
    shipping = estimate_shipping("shipping", 10 * 4.84096, settings.origin_pincode, "110001")
    b = quote(
        cube,
        pla,
        DEFAULT_PRINTER,
        settings,
        quantity=10,
        infill_pct=20,
        priority=False,
        color="red",
        shipping_cost=shipping,
    )

    assert shipping == Decimal("82.60")
    assert b.shipping == shipping
    assert b.gst == (b.pre_tax_total * Decimal("0.18")).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert b.total == b.pre_tax_total + b.gst + Decimal("82.60")
    assert b.color == "Red"
