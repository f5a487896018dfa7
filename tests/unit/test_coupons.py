"""Stories about coupons: what a code may be, what it takes off, and every reason it refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from domain.catalog import DEFAULT_COST_SETTINGS, DEFAULT_MATERIALS, DEFAULT_PRINTER, find_material
from domain.coupons import (
    Coupon,
    CouponTerms,
    coupon_id_for,
    discount_as_applied,
    is_well_formed,
    normalise_code,
    stored_changes,
)
from domain.errors import Conflict, InvalidInput
from domain.orders import Order
from domain.pricing import PartGeometry, PriceBreakdown, goods_paise, quote, with_discount

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
GOODS = 50_000  # ₹500.00


def terms(**fields: Any) -> CouponTerms:
    """Terms from admin input (rupees, percent numbers, times)."""
    return CouponTerms.parse(stored_changes({"percent_off": 10, **fields}))


def coupon(code: str = "SAVE10", **fields: Any) -> Coupon:
    return Coupon.issue(code, terms(**fields), actor="admin:1")


def refusal(c: Coupon, *, goods: int = GOODS, now: datetime = NOW, customer: str = "c1") -> str:
    with pytest.raises(InvalidInput) as refused:
        c.check(goods_paise=goods, now=now, customer_id=customer)
    return refused.value.message


# --- codes ---------------------------------------------------------------------------


def test_codes_are_case_insensitive_and_name_one_stream() -> None:
    assert normalise_code("  save10 ") == "SAVE10"
    assert coupon_id_for("save10") == coupon_id_for("SAVE10") == coupon_id_for(" Save10")
    assert coupon_id_for("SAVE10") != coupon_id_for("SAVE11")
    made = coupon("diwali-25")
    assert made.code == "DIWALI-25" and made.id == coupon_id_for("Diwali-25")


@pytest.mark.parametrize("bad", ["", "AB", "-SAVE", "SAVE 10", "SAVE!", "X" * 33, "ÜBER10"])
def test_a_code_is_3_to_32_letters_digits_dashes_or_underscores(bad: str) -> None:
    assert not is_well_formed(bad)
    with pytest.raises(InvalidInput, match="code: 3-32"):
        Coupon.issue(bad, terms(), actor="admin:1")


# --- terms ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"percent_off": None}, "exactly one of percent_off or amount_off"),
        ({"amount_off": 50}, "exactly one of percent_off or amount_off"),
        ({"percent_off": 0}, "percent_off must be more than 0"),
        ({"percent_off": 100.5}, "percent_off must be more than 0 and at most 100"),
        ({"percent_off": "12.345"}, "2 decimals"),
        ({"percent_off": None, "amount_off": 0.001}, "amount_off must be in whole paise"),
        ({"percent_off": None, "amount_off": 0}, "amount_off must be more than 0"),
        ({"min_order_value": -1}, "min_order_value must be from 0"),
        ({"min_order_value": 10.555}, "min_order_value must be in whole paise"),
        ({"max_uses": 0}, "max_uses must be a whole number"),
        ({"max_uses": True}, "max_uses must be a whole number"),
        ({"max_uses_per_customer": 0}, "max_uses_per_customer must be a whole number"),
        ({"valid_from": "2026-11-21T10:00"}, "valid_from must include a timezone"),
        ({"valid_to": "tomorrow"}, "valid_to must be an ISO-8601 time"),
        (
            {"valid_from": "2026-11-22T00:00Z", "valid_to": "2026-11-21T00:00Z"},
            "valid_to must be later than valid_from",
        ),
        ({"active": "yes"}, "active must be true or false"),
        ({"colour": "red"}, "unknown coupon field 'colour'"),
    ],
)
def test_terms_refuse_what_no_coupon_can_mean(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        terms(**fields)


def test_terms_are_stored_as_primitives_and_read_back_exactly() -> None:
    made = terms(
        percent_off=12.5,
        min_order_value=499.99,
        max_uses=100,
        max_uses_per_customer=None,
        valid_from="2026-11-01T00:00+05:30",
        valid_to=datetime(2026, 11, 30, tzinfo=UTC),
    )
    stored = made.to_dict()
    assert stored == {
        "percent_off": "12.5",
        "amount_off_paise": None,
        "min_order_paise": 49_999,
        "max_uses": 100,
        "max_uses_per_customer": None,
        "valid_from": "2026-11-01T00:00:00+05:30",
        "valid_to": "2026-11-30T00:00:00+00:00",
        "active": True,
    }
    assert CouponTerms.parse(stored) == made
    assert terms().max_uses_per_customer == 1  # one use per customer unless staff say otherwise


# --- discounts -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "goods", "off"),
    [
        ({"percent_off": 10}, 63_28, 6_33),  # 6.328 rounds half up to the paisa
        ({"percent_off": 10}, 63_25, 6_33),  # 6.325: exactly half a paisa goes up
        ({"percent_off": 12.5}, 1_00, 13),  # 12.5 paise -> 13
        ({"percent_off": 100}, 74_67, 74_67),
        ({"percent_off": None, "amount_off": 50}, 63_28, 50_00),
        ({"percent_off": None, "amount_off": 100}, 63_28, 63_28),  # never more than the goods
    ],
)
def test_the_discount_is_whole_paise_and_never_more_than_the_goods(
    fields: dict[str, Any], goods: int, off: int
) -> None:
    assert terms(**fields).discount_paise(goods) == off


def test_every_refusal_names_its_reason() -> None:
    assert refusal(coupon(active=False)) == "coupon_code: coupon 'SAVE10' is inactive"
    early = coupon(valid_from="2026-12-01T00:00+05:30")
    assert refusal(early) == (
        "coupon_code: coupon 'SAVE10' is not yet valid; it starts on 2026-12-01T00:00:00+05:30"
    )
    late = coupon(valid_to="2026-11-20T23:59:59+05:30")
    assert refusal(late) == "coupon_code: coupon 'SAVE10' expired on 2026-11-20T23:59:59+05:30"
    small = coupon(min_order_value=600)
    assert refusal(small) == (
        "coupon_code: coupon 'SAVE10' needs a minimum order of ₹600.00 before GST and"
        " shipping; this order is ₹500.00"
    )
    once = coupon(max_uses=1)
    once.redeem(order_id="o1", customer_id="c2", goods_paise=GOODS, now=NOW, actor="customer:c2")
    assert refusal(once) == "coupon_code: coupon 'SAVE10' is used up"
    mine = coupon()
    mine.redeem(order_id="o1", customer_id="c1", goods_paise=GOODS, now=NOW, actor="customer:c1")
    assert refusal(mine) == "coupon_code: you have already used coupon 'SAVE10'"
    thrice = coupon(max_uses_per_customer=3)
    for n in range(3):
        thrice.redeem(
            order_id=f"o{n}", customer_id="c1", goods_paise=GOODS, now=NOW, actor="customer:c1"
        )
    assert refusal(thrice) == (
        "coupon_code: you have already used coupon 'SAVE10' 3 times, its limit per customer"
    )
    gone = coupon()
    gone.withdraw(actor="admin:1")
    assert refusal(gone) == "coupon_code: unknown coupon 'SAVE10'"


def test_the_window_includes_its_ends_and_the_minimum_is_inclusive() -> None:
    window = coupon(valid_from=NOW, valid_to=NOW + timedelta(days=1), min_order_value=500)
    assert window.check(goods_paise=GOODS, now=NOW, customer_id="c1") == 50_00
    assert window.check(goods_paise=GOODS, now=NOW + timedelta(days=1), customer_id="c1")
    assert "expired" in refusal(window, now=NOW + timedelta(days=1, microseconds=1))
    assert "minimum order" in refusal(window, goods=GOODS - 1)


def test_an_anonymous_check_skips_the_per_customer_limit() -> None:
    mine = coupon()
    mine.redeem(order_id="o1", customer_id="c1", goods_paise=GOODS, now=NOW, actor="customer:c1")
    assert mine.check(goods_paise=GOODS, now=NOW, customer_id=None) == 50_00


# --- redemptions ---------------------------------------------------------------------


def test_a_redemption_and_its_release_are_events_with_the_customer_and_the_discount() -> None:
    made = coupon(max_uses=2)
    made.collect_events()
    off = made.redeem(
        order_id="o1", customer_id="c1", goods_paise=GOODS, now=NOW, actor="customer:c1"
    )
    assert off == 50_00 and made.uses == 1 and made.uses_by("c1") == 1
    with pytest.raises(Conflict, match="already holds a use"):
        made.redeem(order_id="o1", customer_id="c1", goods_paise=GOODS, now=NOW, actor="x")
    assert made.release(order_id="o1", actor="admin:1") is True
    assert made.release(order_id="o1", actor="admin:1") is False  # nothing held: no event
    assert made.release(order_id="never", actor="admin:1") is False
    assert made.uses == 0 and made.uses_by("c1") == 0
    events = made.collect_events()
    assert [type(e).__name__ for e in events] == ["Redeemed", "Released"]
    redeemed, released = (vars(e) for e in events)
    assert redeemed["order_id"] == released["order_id"] == "o1"
    assert redeemed["customer_id"] == released["customer_id"] == "c1"
    assert redeemed["discount_paise"] == released["discount_paise"] == 50_00
    assert redeemed["actor"] == "customer:c1" and released["actor"] == "admin:1"


def test_a_given_back_use_can_be_redeemed_again() -> None:
    once = coupon(max_uses=1)
    once.redeem(order_id="o1", customer_id="c1", goods_paise=GOODS, now=NOW, actor="c")
    once.release(order_id="o1", actor="admin:1")
    assert once.redeem(order_id="o2", customer_id="c1", goods_paise=GOODS, now=NOW, actor="c")


def test_changing_terms_records_the_previous_ones_and_one_kind_replaces_the_other() -> None:
    made = coupon()
    made.collect_events()
    assert made.change({"amount_off_paise": 75_00}, actor="admin:2") is True
    assert made.current.percent_off is None and made.current.amount_off_paise == 75_00
    assert made.change({"amount_off_paise": 75_00}, actor="admin:2") is False  # no event
    assert made.change({"active": False}, actor="admin:2") is True
    with pytest.raises(InvalidInput, match="exactly one"):
        made.change({"amount_off_paise": None}, actor="admin:2")
    changed = made.collect_events()
    assert [type(e).__name__ for e in changed] == ["TermsChanged", "TermsChanged"]
    assert vars(changed[0])["previous"]["percent_off"] == "10"
    assert vars(changed[1])["terms"]["active"] is False
    made.withdraw(actor="admin:2")
    with pytest.raises(Conflict, match="deleted"):
        made.change({"active": True}, actor="admin:2")
    with pytest.raises(Conflict, match="deleted"):
        made.withdraw(actor="admin:2")


# --- the price -----------------------------------------------------------------------


def _price(*, priority: bool = False) -> PriceBreakdown:
    """Two 20 mm PLA cubes, shipped for ₹85."""
    return quote(
        PartGeometry(dim_x_mm=20, dim_y_mm=20, dim_z_mm=20, volume_cm3=8.0),
        find_material("PLA", DEFAULT_MATERIALS),
        DEFAULT_PRINTER,
        DEFAULT_COST_SETTINGS,
        quantity=2,
        infill_pct=20,
        priority=priority,
        color=None,
        shipping_cost=Decimal("85.00"),
    )


def test_the_discount_is_a_line_before_gst_and_gst_is_on_the_discounted_value() -> None:
    price = _price(priority=True)
    made = coupon()
    off = made.check(goods_paise=goods_paise(price), now=NOW, customer_id="c1")
    discounted = with_discount(price, off, made.applied())
    goods = price.subtotal + price.priority_surcharge
    assert discounted.discount == (goods / 10).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert discounted.pre_tax_total == goods - discounted.discount
    assert discounted.gst == (discounted.pre_tax_total * Decimal("0.18")).quantize(
        Decimal("0.01"), rounding="ROUND_HALF_UP"
    )
    assert discounted.shipping == price.shipping == Decimal("85.00")  # never discounted
    assert discounted.total == discounted.pre_tax_total + discounted.gst + discounted.shipping
    assert discounted.gst < price.gst and discounted.total < price.total
    view = discounted.customer_view()
    assert view["discount"] == float(discounted.discount) and view["coupon_code"] == "SAVE10"
    lines = view["material_cost"] + view["printing_cost"] + view["priority_surcharge"]
    assert round(lines - view["discount"], 2) == view["pre_tax_total"]
    with pytest.raises(ValueError, match="already carries"):
        with_discount(discounted, 1, made.applied())
    with pytest.raises(ValueError, match="does not fit"):
        with_discount(price, goods_paise(price) + 1, made.applied())


def test_a_discounted_price_is_stored_exactly_and_recomputed_from_what_it_recorded() -> None:
    price = _price(priority=True)
    fixed = coupon("FLAT50", percent_off=None, amount_off=50)
    discounted = with_discount(price, 50_00, fixed.applied())
    stored = discounted.to_dict()
    assert stored["discount_paise"] == 50_00
    assert stored["coupon"] == {"code": "FLAT50", "amount_off_paise": 50_00}
    assert PriceBreakdown.from_dict(stored) == discounted
    assert discount_as_applied(stored["coupon"], goods_paise(price)) == 50_00
    assert discount_as_applied({"code": "P", "percent_off": "10"}, 63_28) == 6_33


def test_a_price_without_a_coupon_keeps_its_stored_form() -> None:
    stored = _price().to_dict()
    assert "discount_paise" not in stored and "coupon" not in stored
    restored = PriceBreakdown.from_dict(stored)
    assert restored.discount == Decimal("0.00") and restored.coupon is None
    assert restored.customer_view()["coupon_code"] is None


# --- orders give their use back ------------------------------------------------------


def _order(price: PriceBreakdown) -> Order:
    return Order.place(
        order_id=uuid4(),
        customer_id="c1",
        customer_email="c1@example.com",
        tracking_number="FL-TEST",
        group_id=None,
        model={},
        material="PLA",
        color="Black",
        quantity=2,
        infill_pct=20,
        fulfillment="pickup",
        priority=False,
        shipping_address=None,
        customer_notes="",
        price=price.to_dict(),
        settings_version=1,
        request_fingerprint="x",
        actor="customer:c1",
    )


def test_only_an_order_cancelled_before_payment_gives_its_coupon_back() -> None:
    discounted = with_discount(_price(), 10_00, coupon().applied())
    unpaid = _order(discounted)
    assert unpaid.coupon_to_give_back() is None  # pending: it still holds the use
    unpaid.change_status("cancelled", actor="admin:1")
    assert unpaid.coupon_to_give_back() == "SAVE10"
    paid = _order(discounted)
    paid.confirm_payment(method="upi", reference="r", actor="admin:1")
    paid.change_status("cancelled", actor="admin:1")
    assert paid.coupon_to_give_back() is None
    plain = _order(_price())
    plain.change_status("cancelled", actor="admin:1")
    assert plain.coupon_to_give_back() is None
