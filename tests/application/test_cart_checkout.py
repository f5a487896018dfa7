"""Story: a customer checks out a cart of parts as one group of orders, all or none.

One save writes every order (an item that cannot be ordered refuses the whole cart and
nothing is written); the parcel pays one shipping charge; a coupon is redeemed once for
the group and its discount shared to the paisa; a retry with the same Idempotency-Key
returns the same group. On the in-memory store, SQLite files and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from application.cart_checkout import CartCheckout, CartItem, CartRequest, order_id_in_group
from application.catalog_models import Person
from application.quoting import QuoteRequest
from domain.coupons import Coupon, coupon_id_for
from domain.errors import Conflict, InvalidInput, NotFound
from domain.fleet.shipping_partners import DEFAULT_SLUG
from domain.orders import Order
from domain.pricing import PriceBreakdown, goods_paise
from infra.bootstrap import Container
from tests.support.factories import cube_stl

CUSTOMER = "maker-1"
ADDRESS = {
    "name": "Asha Rao",
    "phone": "+91 98450 00000",
    "address": "14, 2nd Cross, Indiranagar",
    "city": "Bengaluru",
    "state": "Karnataka",
    "zip": "560038",
}
ADMIN = Person("a-1", "admin", "admin:a-1")


@pytest.fixture
def sessions(container: Container) -> list[str]:
    """Three of the customer's uploads: cubes of 20, 30 and 45 mm."""
    return [
        container.checkout.upload(CUSTOMER, cube_stl(size), f"cube-{size}.stl").session_id
        for size in (20, 30, 45)
    ]


def cart(sessions: list[str], *items: CartItem, **shared: Any) -> CartRequest:
    """A pickup cart of the three uploads (or of the items given)."""
    values: dict[str, Any] = {
        "customer_id": CUSTOMER,
        "customer_email": "maker@example.com",
        "items": list(items)
        or [
            CartItem("PLA", None, 2, 20, session_id=sessions[0]),
            CartItem("PETG", None, 1, 30, session_id=sessions[1]),
            CartItem("PLA", "Blue", 3, 15, session_id=sessions[2]),
        ],
        "fulfillment": "pickup",
        "priority": False,
        "shipping_address": None,
        "notes": "one parcel please",
    }
    values.update(shared)
    return CartRequest(**values)


def prices(orders: list[Order]) -> list[PriceBreakdown]:
    return [PriceBreakdown.from_dict(order.price) for order in orders]


def paise(amount: Decimal) -> int:
    return int(amount * 100)


def test_a_cart_places_one_order_per_item_in_one_save_sharing_a_group_id(
    container: Container, sessions: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    saves: list[int] = []
    save_new = container.ordering.save_new

    def counted(*aggregates: Any) -> int:
        saves.append(len(aggregates))
        return save_new(*aggregates)

    monkeypatch.setattr(container.ordering, "save_new", counted)
    before = container.ordering.position()

    result = CartCheckout(container.checkout).place(cart(sessions))

    assert result.created and saves == [3]  # one save, three orders
    assert result.position == container.ordering.position() == before + 3
    assert [o.id for o in result.orders] == [
        order_id_in_group(result.group_id, i) for i in range(3)
    ]
    stored = [container.ordering.get_order(o.id) for o in result.orders]
    assert {o.group_id for o in stored} == {str(result.group_id)}
    assert [(o.material, o.quantity) for o in stored] == [("PLA", 2), ("PETG", 1), ("PLA", 3)]
    assert stored[2].color == "Blue"
    assert [o.model["filename"] for o in stored] == ["cube-20.stl", "cube-30.stl", "cube-45.stl"]
    assert len({o.tracking_number for o in stored}) == 3
    assert all(o.status == "pending" and o.customer_id == CUSTOMER for o in stored)
    assert result.total_paise == sum(o.price["total_paise"] for o in stored)


def test_an_item_that_cannot_be_ordered_refuses_the_whole_cart_and_writes_nothing(
    container: Container, sessions: list[str]
) -> None:
    theirs = container.checkout.upload("rival-1", cube_stl(), "theirs.stl").session_id
    good = CartItem("PLA", None, 1, 20, session_id=sessions[0])
    bad_items: list[tuple[CartItem, type[Exception], str]] = [
        (replace(good, session_id="x" * 32), NotFound, "upload session not found"),
        (replace(good, session_id=theirs), NotFound, "upload session not found"),
        (replace(good, material="Unobtainium"), InvalidInput, "unknown material"),
        (replace(good, infill_pct=150), InvalidInput, "infill"),
        (replace(good, quantity=0), InvalidInput, "quantity"),
        (replace(good, catalog_model_id="m-1"), InvalidInput, "one of session_id or catalog"),
        (replace(good, session_id=None), InvalidInput, "one of session_id or catalog"),
    ]
    before = container.ordering.position()
    checkout = CartCheckout(container.checkout)

    for bad, error, reason in bad_items:
        with pytest.raises(error, match=rf"^items\[1\]: .*{reason}"):
            checkout.place(cart(sessions, good, bad, good))
    with pytest.raises(InvalidInput, match=r"^shipping"):  # a shared choice: no item named
        checkout.place(cart(sessions, good, good, fulfillment="shipping", shipping_address={}))
    with pytest.raises(InvalidInput, match="items: send 1 to 50 items, got 51"):
        checkout.place(cart(sessions, *[good] * 51))
    with pytest.raises(InvalidInput, match="items: send 1 to 50 items, got 0"):
        checkout.place(cart(sessions, items=[]))

    assert container.ordering.position() == before  # no event at all


def test_a_shipping_cart_pays_one_shipping_line_for_the_whole_parcel(
    container: Container, sessions: list[str]
) -> None:
    result = CartCheckout(container.checkout).place(
        cart(sessions, fulfillment="shipping", shipping_address=ADDRESS)
    )

    lines = prices(result.orders)
    [(_, origin)] = container.fleet.active_printers()  # the seeded fleet: one printer
    weight = sum(line.grams_total for line in lines)
    parcel = container.shipping.shipping_paise(
        fulfillment="shipping", weight_g=weight, origin_pincode=origin, destination_pincode="560038"
    )
    assert parcel > 0
    assert [paise(line.shipping) for line in lines] == [parcel, 0, 0]
    assert {line.shipping_method for line in lines} == {DEFAULT_SLUG}
    for line in lines:
        assert line.total == line.pre_tax_total + line.gst + line.shipping
    assert all(o.shipping_address == ADDRESS for o in result.orders)
    # Cheaper than three parcels: each single checkout pays its own shipping.
    singles = [
        container.shipping.shipping_paise(
            fulfillment="shipping",
            weight_g=line.grams_total,
            origin_pincode=origin,
            destination_pincode="560038",
        )
        for line in lines
    ]
    assert parcel < sum(singles)


def test_a_coupon_is_decided_on_the_groups_goods_and_shared_to_the_paisa(
    container: Container, sessions: list[str]
) -> None:
    checkout = CartCheckout(container.checkout)
    undiscounted = prices(checkout.place(cart(sessions)).orders)
    goods = [goods_paise(line) for line in undiscounted]
    # A minimum no single order meets, but the group does: the group is what is judged.
    container.coupons.issue(
        "GROUP7",
        {"percent_off": "7", "min_order_value": str(Decimal(max(goods) + 1) / 100)},
        actor="admin:a-1",
    )

    result = checkout.place(cart(sessions, coupon_code="group7"))

    lines = prices(result.orders)
    exact = Decimal(sum(goods)) * Decimal("0.07")
    discount = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    shares = [paise(line.discount) for line in lines]
    assert sum(shares) == discount
    for share, part in zip(shares, goods, strict=True):
        assert abs(share - Decimal(discount * part) / sum(goods)) < 1
    for line, before in zip(lines, undiscounted, strict=True):
        assert line.coupon == {"code": "GROUP7", "percent_off": "7"}
        assert line.pre_tax_total == before.pre_tax_total - line.discount
        assert line.gst == (line.pre_tax_total * line.gst_pct / 100).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
        assert line.total == line.pre_tax_total + line.gst + line.shipping
    coupon = container.ordering.find(coupon_id_for("GROUP7"), Coupon)
    assert coupon is not None and coupon.uses == 1  # one use for the whole group
    assert coupon.redemptions == {
        str(result.group_id): {"customer_id": CUSTOMER, "discount_paise": discount}
    }

    # Cancelling one part does not give the group's use back (it is held by the group).
    container.ordering.change_status(result.orders[1].id, "cancelled", actor="admin:a-1")
    coupon = container.ordering.find(coupon_id_for("GROUP7"), Coupon)
    assert coupon is not None and coupon.uses == 1


def test_an_amount_off_is_shared_exactly_even_when_it_does_not_divide(
    container: Container, sessions: list[str]
) -> None:
    container.coupons.issue("ODD101", {"amount_off": "1.01"}, actor="admin:a-1")

    result = CartCheckout(container.checkout).place(cart(sessions, coupon_code="ODD101"))

    lines = prices(result.orders)
    assert sum(paise(line.discount) for line in lines) == 101
    assert result.total_paise == sum(paise(line.total) for line in lines)


def test_the_group_total_is_the_sum_of_its_orders_to_the_paisa(
    container: Container, sessions: list[str]
) -> None:
    container.coupons.issue("TEN", {"percent_off": "10"}, actor="admin:a-1")

    result = CartCheckout(container.checkout).place(
        cart(
            sessions,
            fulfillment="shipping",
            shipping_address=ADDRESS,
            priority=True,
            coupon_code="TEN",
        )
    )

    stored = [container.ordering.get_order(o.id).price for o in result.orders]
    for price in stored:  # integer paise, every total the sum of its lines
        assert price["total_paise"] == (
            price["pre_tax_total_paise"] + price["gst_paise"] + price["shipping_paise"]
        )
        assert price["pre_tax_total_paise"] == (
            price["subtotal_paise"] + price["priority_surcharge_paise"] - price["discount_paise"]
        )
    assert result.total_paise == sum(price["total_paise"] for price in stored)


def test_a_retry_with_the_same_key_returns_the_same_group_and_writes_nothing(
    container: Container, sessions: list[str]
) -> None:
    container.coupons.issue("ONCE", {"percent_off": "5"}, actor="admin:a-1")
    checkout = CartCheckout(container.checkout)
    request = cart(sessions, coupon_code="ONCE", idempotency_key="cart-7f1c")
    first = checkout.place(request)
    head = container.ordering.position()

    retry = checkout.place(request)

    assert first.created and not retry.created
    assert retry.group_id == first.group_id and retry.position == head
    assert [o.id for o in retry.orders] == [o.id for o in first.orders]
    assert [o.tracking_number for o in retry.orders] == [o.tracking_number for o in first.orders]
    coupon = container.ordering.find(coupon_id_for("ONCE"), Coupon)
    assert coupon is not None and coupon.uses == 1
    # The same key for another cart is refused; the key is the customer's own.
    changed = replace(request, items=[replace(request.items[0], quantity=5), *request.items[1:]])
    with pytest.raises(Conflict, match="Idempotency-Key"):
        checkout.place(changed)
    with pytest.raises(Conflict, match="Idempotency-Key"):
        checkout.place(replace(request, items=request.items[:2]))
    assert container.ordering.position() == head
    with pytest.raises(InvalidInput, match="Idempotency-Key"):
        checkout.place(replace(request, idempotency_key=" "))


def test_catalog_models_and_uploads_check_out_together(
    container: Container, sessions: list[str]
) -> None:
    category, _ = container.print_config.add_category({"name": "Desk"}, actor=ADMIN.actor)
    fields = {"name": "Pen cup", "category_id": str(category.id), "material": "PLA"}
    fixed = container.catalog_models.upload(
        cube_stl(25), "cup.stl", {**fields, "price": "149.50"}, by=ADMIN
    ).model

    result = CartCheckout(container.checkout).place(
        cart(
            sessions,
            CartItem("PLA", None, 2, 20, catalog_model_id=str(fixed.id)),
            CartItem("PLA", None, 1, 20, session_id=sessions[0]),
        )
    )

    ordered, uploaded = result.orders
    assert ordered.model["catalog_model_id"] == str(fixed.id)
    assert ordered.price["subtotal_paise"] == 2 * 14950
    assert "catalog_model_id" not in uploaded.model
    with pytest.raises(NotFound, match=r"^items\[0\]: "):
        CartCheckout(container.checkout).place(
            cart(sessions, CartItem("PLA", None, 1, 20, catalog_model_id="not-a-model"))
        )


def test_twenty_items_of_one_upload_read_its_session_once_and_quote_each_choice_once(
    container: Container, sessions: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []
    quotes: list[QuoteRequest] = []
    models, quoter = container.checkout.models, container.checkout.quoter
    get_session, quote = models.get_session, quoter.quote

    def read(session_id: str) -> Any:
        reads.append(session_id)
        return get_session(session_id)

    def priced(request: QuoteRequest, material: Any = None) -> PriceBreakdown:
        quotes.append(request)
        return quote(request, material)

    monkeypatch.setattr(models, "get_session", read)
    monkeypatch.setattr(quoter, "quote", priced)
    items = [CartItem("PLA", None, 1 + i % 2, 20, session_id=sessions[0]) for i in range(20)]

    result = CartCheckout(container.checkout).place(cart(sessions, *items))

    assert len(result.orders) == 20
    assert reads == [sessions[0]]
    assert len(quotes) == 2  # one per distinct choice (quantity 1 and 2)
