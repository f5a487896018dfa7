"""Stories about exact money: paise in storage, rupees at the edge, one rounding rule."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from domain.catalog import (
    DEFAULT_COST_SETTINGS,
    DEFAULT_MATERIALS,
    DEFAULT_PRINTER,
    CostSettings,
    find_material,
    upcast_cost_settings_v1,
)
from domain.errors import InvalidInput
from domain.money import (
    as_decimal,
    decimal_places,
    decimal_text,
    from_paise,
    paise_from_legacy_rupees,
    round_to_paise,
    rupees_json,
    to_paise,
)
from domain.orders import Order, payment_amount_paise
from domain.pricing import (
    PartGeometry,
    PriceBreakdown,
    quote,
    stored_total_paise,
    upcast_price_v1,
)
from tests.support.legacy_events import version_1_price

PLA = find_material("PLA", DEFAULT_MATERIALS)


def _breakdown(**overrides: Any) -> PriceBreakdown:
    return quote(
        PartGeometry(33.3, 21.7, 48.1, 17.77),
        PLA,
        DEFAULT_PRINTER,
        overrides.pop("settings", DEFAULT_COST_SETTINGS),
        quantity=3,
        infill_pct=35,
        priority=True,
        color=None,
        shipping_cost=Decimal("47.20"),
    )


# --- the one rounding rule and the conversions ------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "rounded"),
    [
        ("2.345", "2.35"),
        ("2.344999", "2.34"),
        ("-2.345", "-2.35"),
        ("0.005", "0.01"),
        ("7", "7.00"),
    ],
)
def test_lines_round_to_the_paisa_half_up(amount: str, rounded: str) -> None:
    assert round_to_paise(Decimal(amount)) == Decimal(rounded)


def test_paise_and_rupees_convert_exactly_both_ways() -> None:
    assert to_paise(Decimal("1234.56")) == 123456
    assert from_paise(123456) == Decimal("1234.56")
    assert from_paise(5) == Decimal("0.05")
    assert rupees_json(123456) == 1234.56 and rupees_json(10) == 0.1
    # 0.1 + 0.2 in floats is 0.30000000000000004; in paise it is 30.
    assert to_paise(from_paise(10) + from_paise(20)) == 30
    with pytest.raises(ValueError, match="round it first"):
        to_paise(Decimal("1.005"))
    with pytest.raises(TypeError):
        from_paise(1.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("stored", "paise"), [(25.12, 2512), (0.29, 29), (1234.57, 123457), (30, 3000), (0.1, 10)]
)
def test_legacy_rupee_floats_become_the_paise_they_were_written_from(
    stored: float, paise: int
) -> None:
    # 0.29 * 100 is 28.999999999999996 in binary floats: the repr is what was written.
    assert paise_from_legacy_rupees(stored) == paise


def test_rates_are_stored_as_plain_decimal_text() -> None:
    assert decimal_text(Decimal("18.00")) == "18"
    assert decimal_text(Decimal("100")) == "100"
    assert decimal_text(Decimal("7.50")) == "7.5"
    assert decimal_text(Decimal("0.000")) == "0"
    assert decimal_places(Decimal("12.3400")) == 2 and decimal_places(Decimal("1E+2")) == 0


@pytest.mark.parametrize("value", [True, None, "lots", float("nan"), float("inf"), "Infinity"])
def test_a_value_that_is_not_a_finite_number_is_refused_by_name(value: object) -> None:
    with pytest.raises(InvalidInput, match="margin_pct"):
        as_decimal(value, "margin_pct")


# --- cost settings ------------------------------------------------------------------------------


def test_cost_settings_store_money_in_paise_and_rates_as_text() -> None:
    stored = DEFAULT_COST_SETTINGS.to_dict()

    assert stored["setup_fee_paise"] == 3000 and "setup_fee" not in stored
    assert stored["gst_pct"] == "18" and stored["electricity_rate_per_kwh"] == "8"
    assert "version" not in stored  # the stream's version is the settings version
    again = CostSettings.from_dict(json.loads(json.dumps(stored)), version=4)
    assert again == replace(DEFAULT_COST_SETTINGS, version=4)


def test_cost_settings_accept_numbers_as_written_and_keep_them_exact() -> None:
    settings = replace(DEFAULT_COST_SETTINGS, electricity_rate_per_kwh=7.35, setup_fee="12.5")

    assert settings.electricity_rate_per_kwh == Decimal("7.35")
    assert settings.setup_fee == Decimal("12.5")
    assert settings.to_dict()["setup_fee_paise"] == 1250


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("gst_pct", 28.5, "between 0 and 28"),
        ("setup_fee", "0.001", "at most 2 decimal places"),
        ("electricity_rate_per_kwh", "0.00001", "at most 4 decimal places"),
        ("display_printing_share_pct", -1, "between 0 and 100"),
    ],
)
def test_out_of_range_settings_are_refused_naming_the_field(
    field: str, value: object, message: str
) -> None:
    with pytest.raises(InvalidInput, match=f"{field}.*{message}"):
        replace(DEFAULT_COST_SETTINGS, **{field: value})


def test_a_change_makes_the_next_version_and_only_editable_fields_change() -> None:
    changed = DEFAULT_COST_SETTINGS.changed({"margin_pct": Decimal("35")})
    assert (changed.version, changed.margin_pct) == (2, Decimal(35))
    with pytest.raises(InvalidInput, match="cannot change wall_thickness_mm"):
        DEFAULT_COST_SETTINGS.changed({"wall_thickness_mm": 2})


def test_float_settings_of_version_1_upcast_to_the_stored_form() -> None:
    old = {"version": 1, "setup_fee": 30.1, "gst_pct": 18.0, "margin_pct": 30, "currency": "INR"}

    upgraded = upcast_cost_settings_v1(old)

    assert upgraded == {
        "setup_fee_paise": 3010,
        "gst_pct": "18",
        "margin_pct": "30",
        "currency": "INR",
    }
    assert CostSettings.from_dict(upgraded).setup_fee == Decimal("30.10")


# --- price breakdowns --------------------------------------------------------------------------


def test_a_breakdown_is_stored_in_paise_and_answered_in_rupees() -> None:
    b = _breakdown()
    stored = b.to_dict()
    answer = b.rupees()

    assert stored["total_paise"] == to_paise(b.total) and isinstance(stored["total_paise"], int)
    assert stored["gst_pct"] == "18" and "total" not in stored
    assert answer["total"] == float(b.total) and answer["gst_pct"] == 18.0
    assert PriceBreakdown.from_dict(json.loads(json.dumps(stored))) == b
    assert stored_total_paise(stored) == stored["total_paise"]


def test_a_version_1_breakdown_upcasts_to_exactly_what_today_stores() -> None:
    b = _breakdown()
    old = version_1_price(b)  # rupee floats, gst_pct a float

    assert upcast_price_v1(old) == b.to_dict()
    assert stored_total_paise(old) == to_paise(b.total)


def test_old_order_events_upcast_in_place() -> None:
    b = _breakdown()
    placed: dict[str, Any] = {"price": version_1_price(b)}
    paid: dict[str, Any] = {"amount": float(b.total), "method": "upi"}

    Order.Placed.upcast_v1_v2(placed)
    Order.PaymentConfirmed.upcast_v1_v2(paid)

    assert placed["price"] == b.to_dict()
    assert paid == {"amount_paise": to_paise(b.total), "method": "upi"}
    assert payment_amount_paise(paid) == payment_amount_paise({"amount": float(b.total)})
    assert (Order.Placed.class_version, Order.PaymentConfirmed.class_version) == (2, 2)
