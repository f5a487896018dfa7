"""Stories about the cost engine: what a part weighs, how long it prints, what it costs."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal

import pytest

from domain.catalog import (
    DEFAULT_COST_SETTINGS,
    DEFAULT_MATERIALS,
    DEFAULT_PRINTER,
    CostSettings,
    Material,
    PrinterProfile,
    find_material,
)
from domain.errors import InvalidInput
from domain.pricing import PartGeometry, PriceBreakdown, estimate_print, quote

PLA = find_material("PLA", DEFAULT_MATERIALS)
CUBE_20 = PartGeometry(dim_x_mm=20, dim_y_mm=20, dim_z_mm=20, volume_cm3=8.0)
CENT = Decimal("0.01")


def paise(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def price(
    geometry: PartGeometry = CUBE_20,
    material: Material = PLA,
    settings: CostSettings = DEFAULT_COST_SETTINGS,
    *,
    quantity: int = 1,
    infill_pct: float = 20,
    priority: bool = False,
    color: str | None = None,
    shipping: Decimal = Decimal("0"),
) -> PriceBreakdown:
    return quote(
        geometry,
        material,
        DEFAULT_PRINTER,
        settings,
        quantity=quantity,
        infill_pct=infill_pct,
        priority=priority,
        color=color,
        shipping_cost=shipping,
    )


# --- a 20 mm PLA cube at 20 % infill, worked by hand --------------------------------------


def test_a_20mm_pla_cube_at_20_percent_infill_is_priced_line_by_line() -> None:
    # Surface: six 2 cm x 2 cm faces = 24 cm2 (a box, so the estimate is exact).
    # Shell: 24 cm2 x 0.12 cm walls = 2.88 cm3; inside: 8 - 2.88 = 5.12 cm3 at 20 % = 1.024 cm3.
    material_cm3 = 2.88 + 1.024  # 3.904 cm3
    grams = material_cm3 * 1.24  # 4.84096 g
    layers = 100  # 20 mm / 0.2 mm
    hours = material_cm3 / 15 + layers * 4 / 3600  # 0.26027 h extruding + 0.11111 h of layers

    b = price()

    assert b.layers == layers
    assert b.material_cm3 == pytest.approx(3.90)
    assert b.grams_per_unit == pytest.approx(4.8)
    assert b.print_hours_per_unit == pytest.approx(0.37)
    assert grams == pytest.approx(4.84096)
    assert hours == pytest.approx(0.371378, abs=1e-6)

    # material 4.84096 g x ₹1.200/g = 5.809 -> 5.81; electricity 0.371378 h x 0.12 kW x ₹8 = 0.357
    assert b.material_cost == Decimal("5.81")
    assert b.electricity_cost == Decimal("0.36")
    assert b.setup_fee == Decimal("30.00")
    # overhead 15 % of (5.81 + 0.36 + 30.00 = 36.17) = 5.4255 -> 5.43
    assert b.overhead == Decimal("5.43")
    # margin 30 % of (36.17 + 5.43 = 41.60) = 12.48
    assert b.margin == Decimal("12.48")
    assert b.subtotal == Decimal("54.08")
    assert b.priority_surcharge == Decimal("0.00")
    assert b.pre_tax_total == Decimal("54.08")
    # GST 18 % of 54.08 = 9.7344 -> 9.73
    assert b.gst == Decimal("9.73")
    assert b.total == Decimal("63.81")
    # Hidden = 0.36 + 30 + 5.43 + 12.48 = 48.27; 60 % = 28.962 -> 28.96 printing,
    # material shows 5.81 + (48.27 - 28.96) = 25.12.
    assert b.printing_cost_display == Decimal("28.96")
    assert b.material_cost_display == Decimal("25.12")
    assert (b.currency, b.settings_version, b.gst_pct) == ("INR", 1, 18.0)
    assert (b.material, b.color, b.unit_price) == ("PLA", "Black", Decimal("54.08"))


# --- the shell model ------------------------------------------------------------------------


def test_a_thin_plate_is_mostly_shell_so_it_weighs_more_than_volume_times_infill() -> None:
    plate = PartGeometry(dim_x_mm=100, dim_y_mm=100, dim_z_mm=2, volume_cm3=20.0)

    est = estimate_print(plate, PLA, DEFAULT_PRINTER, DEFAULT_COST_SETTINGS, 20)

    naive = 20.0 * 0.20
    # 208 cm2 of surface x 0.12 cm = 24.96 cm3 of walls > 20 cm3: the plate prints solid.
    assert est.material_cm3 == pytest.approx(20.0)
    assert est.material_cm3 > naive * 4
    assert est.grams == pytest.approx(20.0 * 1.24)


def test_a_measured_surface_area_is_used_instead_of_the_estimate() -> None:
    with_area = PartGeometry(20, 20, 20, 8.0, surface_area_cm2=30.0)

    est = estimate_print(with_area, PLA, DEFAULT_PRINTER, DEFAULT_COST_SETTINGS, 0)

    assert est.shell_cm3 == pytest.approx(30.0 * 0.12)
    assert est.material_cm3 == pytest.approx(3.6)


def test_surface_estimate_is_exact_for_a_box_and_never_below_a_sphere() -> None:
    brick = PartGeometry(40, 20, 10, 8.0)
    assert brick.effective_surface_area_cm2() == pytest.approx(2 * (8 + 2 + 4))

    ball = PartGeometry(30, 30, 30, 4 / 3 * math.pi * 1.5**3)
    sphere_area = 4 * math.pi * 1.5**2
    assert ball.effective_surface_area_cm2() >= sphere_area

    # A client reporting three times its bounding box still gets at least a sphere's area.
    inconsistent = PartGeometry(10, 10, 10, 3.0)
    assert inconsistent.effective_surface_area_cm2() == pytest.approx(
        (36 * math.pi * 3.0**2) ** (1 / 3)
    )


def test_more_infill_means_more_material_and_more_time() -> None:
    sparse = estimate_print(CUBE_20, PLA, DEFAULT_PRINTER, DEFAULT_COST_SETTINGS, 10)
    dense = estimate_print(CUBE_20, PLA, DEFAULT_PRINTER, DEFAULT_COST_SETTINGS, 100)

    assert dense.material_cm3 == pytest.approx(8.0)
    assert sparse.material_cm3 < dense.material_cm3
    assert sparse.print_hours < dense.print_hours


def test_layer_count_is_not_fooled_by_float_division() -> None:
    thin = PartGeometry(10, 10, 0.6, 0.06)
    assert estimate_print(thin, PLA, DEFAULT_PRINTER, DEFAULT_COST_SETTINGS, 20).layers == 3
    odd = PartGeometry(10, 10, 0.65, 0.065)
    assert estimate_print(odd, PLA, DEFAULT_PRINTER, DEFAULT_COST_SETTINGS, 20).layers == 4


# --- surcharges, tax, shipping --------------------------------------------------------------


def test_priority_adds_exactly_25_percent_of_the_subtotal() -> None:
    big = PartGeometry(80, 60, 45, 97.3)
    normal = price(big, infill_pct=15)
    rush = price(big, infill_pct=15, priority=True)

    assert rush.subtotal == normal.subtotal
    assert rush.priority_surcharge == paise(normal.subtotal * Decimal("0.25"))
    assert rush.pre_tax_total == normal.subtotal + rush.priority_surcharge
    assert rush.gst == paise(rush.pre_tax_total * Decimal("0.18"))


def test_gst_is_exactly_18_percent_of_the_taxable_amount() -> None:
    for volume in (0.5, 3.3, 12.5, 47.9, 180.0):
        b = price(PartGeometry(60, 60, 60, volume), quantity=3, priority=volume > 10)
        assert b.gst == paise(b.pre_tax_total * Decimal("0.18"))


def test_shipping_is_added_after_tax_and_never_taxed() -> None:
    pickup = price()
    shipped = price(shipping=Decimal("82.60"))

    assert shipped.gst == pickup.gst
    assert shipped.shipping == Decimal("82.60")
    assert shipped.total == pickup.total + Decimal("82.60")
    assert shipped.total == shipped.pre_tax_total + shipped.gst + shipped.shipping


@pytest.mark.parametrize("share", [0, 37.5, 60, 100])
@pytest.mark.parametrize("priority", [False, True])
def test_the_two_customer_lines_always_add_up_to_the_price_before_tax(
    share: float, priority: bool
) -> None:
    settings = replace(DEFAULT_COST_SETTINGS, display_printing_share_pct=share)
    for volume, infill, qty in ((1.1, 5, 1), (13.37, 33, 7), (211.9, 80, 250)):
        b = price(
            PartGeometry(90, 90, 90, volume),
            settings=settings,
            quantity=qty,
            infill_pct=infill,
            priority=priority,
        )
        assert b.material_cost_display + b.printing_cost_display == b.subtotal
        assert (
            b.material_cost_display + b.printing_cost_display + b.priority_surcharge
            == b.pre_tax_total
        )
        assert b.subtotal == (
            b.material_cost + b.electricity_cost + b.setup_fee + b.overhead + b.margin
        )
        assert b.total == b.pre_tax_total + b.gst + b.shipping


def test_the_customer_view_hides_the_internal_cost_lines() -> None:
    view = price(priority=True, shipping=Decimal("29.50")).customer_view()

    for hidden in ("electricity_cost", "setup_fee", "overhead", "margin", "subtotal"):
        assert hidden not in view
    assert view["material_cost"] == 25.12
    assert view["printing_cost"] == 28.96
    assert view["priority_surcharge"] == 13.52
    assert view["shipping"] == 29.50
    assert view["total"] == round(54.08 + 13.52 + 12.17 + 29.50, 2)
    json.dumps(view)


def test_ten_copies_scale_material_and_time_but_share_one_setup_fee() -> None:
    one = price()
    ten = price(quantity=10)

    assert ten.grams_total == pytest.approx(10 * 4.84096, abs=0.05)
    assert ten.grams_per_unit == one.grams_per_unit
    assert ten.print_hours_total == pytest.approx(10 * 0.371378, abs=0.005)
    assert abs(ten.material_cost - 10 * one.material_cost) <= Decimal("0.05")
    assert abs(ten.electricity_cost - 10 * one.electricity_cost) <= Decimal("0.05")
    assert ten.setup_fee == one.setup_fee == Decimal("30.00")
    assert one.pre_tax_total < ten.pre_tax_total < 10 * one.pre_tax_total
    assert ten.unit_price == paise(ten.pre_tax_total / 10)


def test_each_quote_records_the_settings_version_that_priced_it() -> None:
    pricier = replace(DEFAULT_COST_SETTINGS, version=7, electricity_rate_per_kwh=12.0)
    b = price(settings=pricier)
    assert b.settings_version == 7
    assert b.electricity_cost == paise(Decimal("0.3713777777") * Decimal("0.12") * 12)


# --- refusals -------------------------------------------------------------------------------


def test_an_unknown_material_names_the_choices() -> None:
    with pytest.raises(InvalidInput) as err:
        find_material("XYZ", DEFAULT_MATERIALS)
    assert err.value.message == "unknown material 'XYZ'; choose one of PLA, PETG, ABS, TPU"


def test_materials_and_colours_match_regardless_of_case() -> None:
    petg = find_material("petg", DEFAULT_MATERIALS)
    assert petg.code == "PETG"
    assert price(material=petg, color=" transparent ").color == "Transparent"


def test_an_inactive_material_cannot_be_chosen() -> None:
    shelf = (*DEFAULT_MATERIALS[:3], replace(DEFAULT_MATERIALS[3], active=False))
    with pytest.raises(InvalidInput, match=r"choose one of PLA, PETG, ABS$"):
        find_material("TPU", shelf)


def test_a_colour_the_material_does_not_come_in_is_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        price(color="Pink")
    assert err.value.message.startswith("colour 'Pink' is not offered in PLA; choose one of Black")


@pytest.mark.parametrize("quantity", [0, -1, 1001, 2.5, True])
def test_quantity_must_be_a_whole_number_from_1_to_1000(quantity: int) -> None:
    with pytest.raises(InvalidInput, match="quantity"):
        price(quantity=quantity)


def test_quantity_limits_are_inclusive() -> None:
    assert price(quantity=1000).quantity == 1000


@pytest.mark.parametrize("infill", [-0.1, 100.5, math.nan, math.inf])
def test_infill_must_be_a_percentage(infill: float) -> None:
    with pytest.raises(InvalidInput, match="infill must be between 0 and 100"):
        price(infill_pct=infill)


@pytest.mark.parametrize(
    "dims",
    [
        (-20, 20, 20, 8.0),
        (20, math.nan, 20, 8.0),
        (20, 20, 0, 8.0),
        (20, 20, 20, -8.0),
        (20, 20, 20, math.inf),
    ],
)
def test_dimensions_and_volume_must_be_positive_numbers(dims: tuple[float, ...]) -> None:
    with pytest.raises(InvalidInput, match="must be a positive number"):
        PartGeometry(*dims)


def test_a_negative_surface_area_is_refused() -> None:
    with pytest.raises(InvalidInput, match="surface_area_cm2"):
        PartGeometry(20, 20, 20, 8.0, surface_area_cm2=-1.0)


@pytest.mark.parametrize("amount", [Decimal("-1"), Decimal("NaN")])
def test_shipping_cost_must_be_a_non_negative_amount(amount: Decimal) -> None:
    with pytest.raises(InvalidInput, match="shipping cost"):
        price(shipping=amount)


def test_cost_settings_refuse_nonsense() -> None:
    with pytest.raises(InvalidInput, match="display_printing_share_pct"):
        replace(DEFAULT_COST_SETTINGS, display_printing_share_pct=120)
    with pytest.raises(InvalidInput, match="margin_pct"):
        replace(DEFAULT_COST_SETTINGS, margin_pct=-5)
    with pytest.raises(InvalidInput, match="origin_pincode"):
        replace(DEFAULT_COST_SETTINGS, origin_pincode="12345")


# --- primitive forms ------------------------------------------------------------------------


def test_a_breakdown_survives_a_trip_through_json() -> None:
    b = price(
        PartGeometry(33.3, 21.7, 48.1, 17.77), quantity=4, priority=True, shipping=Decimal("47.20")
    )

    data = b.to_dict()
    again = PriceBreakdown.from_dict(json.loads(json.dumps(data)))

    assert again == b
    assert data["total_paise"] == int(b.total * 100) and "total" not in data
    assert isinstance(data["gst_paise"], int) and data["gst_pct"] == "18"
    assert b.rupees()["total"] == float(b.total)
    assert data["grams_total"] == round(data["grams_total"], 1)
    assert data["print_hours_total"] == round(data["print_hours_total"], 2)


def test_catalog_values_survive_a_trip_through_json() -> None:
    for material in DEFAULT_MATERIALS:
        assert Material.from_dict(json.loads(json.dumps(material.to_dict()))) == material
    printer = json.loads(json.dumps(DEFAULT_PRINTER.to_dict()))
    assert PrinterProfile.from_dict(printer) == DEFAULT_PRINTER
    settings = json.loads(json.dumps(DEFAULT_COST_SETTINGS.to_dict()))
    assert CostSettings.from_dict(settings) == DEFAULT_COST_SETTINGS
    assert settings["setup_fee_paise"] == 3000 and settings["gst_pct"] == "18"


def test_settings_saved_before_a_new_field_existed_take_its_default() -> None:
    old = CostSettings.from_dict({"version": 3, "margin_pct": 25})
    assert (old.version, old.margin_pct, old.gst_pct) == (3, 25.0, 18.0)


def test_the_default_printer_takes_every_default_material_and_a_fist_sized_part() -> None:
    assert all(DEFAULT_PRINTER.supports(m.code) for m in DEFAULT_MATERIALS)
    assert DEFAULT_PRINTER.fits(220, 100, 240)
    assert not DEFAULT_PRINTER.fits(300, 10, 10)
