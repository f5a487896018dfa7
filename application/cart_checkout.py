"""Cart checkout: one order per item, sharing a group id, placed all at once or not at all.

Every order of the group is written in ONE save (one transaction of the ordering store):
an item that cannot be ordered refuses the whole cart, naming it ("items[3]: ..."), and
nothing is written. The group id comes from the Idempotency-Key (or is random) and each
order's id from the group id and its place in the cart, so a retry finds the same streams.
What the group shares, one parcel and one coupon, is split by domain.cart_pricing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from uuid import UUID, uuid5

from application.checkout import (
    CatalogItem,
    Checkout,
    CheckoutRequest,
    fingerprint_of,
    geometry_of,
    idempotent_id,
    placed_order,
)
from application.ordering import new_tracking_number
from application.ports import StoredModel
from application.quoting import QuoteRequest
from domain.cart_pricing import MAX_CART_ITEMS, parcel_prices
from domain.catalog import Material
from domain.errors import Conflict, InvalidInput, NotFound
from domain.models import MeshSummary
from domain.money import to_paise
from domain.orders import Order
from domain.pricing import PriceBreakdown, stored_total_paise
from domain.shipping import FULFILLMENT_METHODS


@dataclass(frozen=True)
class CartItem:
    """One line of a cart: an earlier upload or a catalog model, and the choices for it."""

    material: str
    color: str | None
    quantity: int
    infill_pct: float
    session_id: str | None = None
    catalog_model_id: str | None = None


@dataclass(frozen=True)
class CartRequest:
    """A customer's cart and the choices every order of the group shares."""

    customer_id: str
    customer_email: str
    items: Sequence[CartItem]
    fulfillment: str
    priority: bool
    shipping_address: dict[str, str] | None
    notes: str
    shipping_method: str | None = None  # a shipping partner's slug or id; None: the default
    coupon_code: str | None = None  # redeemed once for the group, in the orders' save
    idempotency_key: str | None = None


@dataclass(frozen=True)
class CartResult:
    """The group's orders in cart order, the log position their save wrote, and whether new."""

    group_id: UUID
    orders: list[Order]
    position: int
    created: bool

    @property
    def total_paise(self) -> int:
        """What the whole group costs: the sum of its orders' totals."""
        return sum(stored_total_paise(order.price) for order in self.orders)


@dataclass(frozen=True)
class _Line:
    """An item found: its request as a single checkout would see it, its file and geometry."""

    request: CheckoutRequest
    item: CatalogItem | None
    stored: StoredModel
    summary: MeshSummary

    def fingerprint(self) -> str:
        """The item's fingerprint as a single checkout of it would have it."""
        model_sha256 = self.item.file.sha256 if self.item else self.stored.sha256
        return fingerprint_of(self.request, model_sha256)


def order_id_in_group(group_id: UUID, index: int) -> UUID:
    """The stream id of the group's order for item `index`: a retry derives the same one."""
    return uuid5(group_id, f"item:{index}")


class CartCheckout:
    """Places carts with a single checkout's parts: its quoter, models, catalog and coupons."""

    def __init__(self, checkout: Checkout) -> None:
        self.checkout = checkout
        self.ordering = checkout.ordering
        self.quoter = checkout.quoter

    def place(self, request: CartRequest) -> CartResult:
        """Place every order of the cart in one save; a retry with the same key returns them."""
        if not 1 <= len(request.items) <= MAX_CART_ITEMS:
            raise InvalidInput(f"items: send 1 to {MAX_CART_ITEMS} items, got {len(request.items)}")
        if request.fulfillment not in FULFILLMENT_METHODS:
            raise InvalidInput("fulfillment must be 'pickup' or 'shipping'")
        group_id = idempotent_id("cart-checkout", request.customer_id, request.idempotency_key)
        order_ids = [order_id_in_group(group_id, i) for i in range(len(request.items))]
        lines = self._found(request)
        fingerprint = _group_fingerprint(lines)
        if self.ordering.find(order_ids[0], Order) is not None:
            return self._replayed(group_id, order_ids, fingerprint)

        prices = self._priced(request, lines)
        tracking_numbers = [new_tracking_number() for _ in lines]

        def build(prices: list[PriceBreakdown]) -> list[Order]:
            return [
                placed_order(
                    line.request,
                    price,
                    order_id=order_id,
                    tracking_number=tracking_number,
                    stored=line.stored,
                    summary=line.summary,
                    item=line.item,
                    fingerprint=fingerprint,
                    group_id=group_id,
                )
                for line, price, order_id, tracking_number in zip(
                    lines, prices, order_ids, tracking_numbers, strict=True
                )
            ]

        if request.coupon_code is not None:
            placed = self.checkout.coupons.redeem_for_group(
                prices,
                request.coupon_code,
                customer_id=request.customer_id,
                group_id=group_id,
                first_order_id=order_ids[0],
                build=build,
            )
            if placed is None:  # a concurrent retry with the same key won the race
                return self._replayed(group_id, order_ids, fingerprint)
            return CartResult(group_id, placed[0], placed[1], created=True)
        orders = build(prices)
        try:
            position = self.ordering.save_new(*orders)
        except Conflict:
            # A concurrent retry with the same key won the race: answer with its group.
            return self._replayed(group_id, order_ids, fingerprint)
        return CartResult(group_id, orders, position, created=True)

    def _found(self, request: CartRequest) -> list[_Line]:
        """Each item's model, each upload session or catalog model looked up once."""
        seen: dict[tuple[str, str], tuple[CatalogItem | None, StoredModel, MeshSummary]] = {}
        lines = []
        for index, item in enumerate(request.items):
            with _naming(index):
                if bool(item.session_id) == bool(item.catalog_model_id):
                    raise InvalidInput("send one of session_id or catalog_model_id")
                single = _item_request(request, item)
                key = (
                    ("catalog", str(item.catalog_model_id))
                    if item.catalog_model_id
                    else ("session", str(item.session_id))
                )
                if key not in seen:
                    catalog_item = self.checkout.catalog_item(single)
                    seen[key] = (catalog_item, *self.checkout.analysed_model(single, catalog_item))
                lines.append(_Line(single, *seen[key]))
        return lines

    def _priced(self, request: CartRequest, lines: list[_Line]) -> list[PriceBreakdown]:
        """Each item's price, then the parcel's one shipping; the catalog's materials are
        read once per cart, and identical items are quoted once."""
        materials: dict[str, Material] = {}
        quoted: dict[QuoteRequest, PriceBreakdown] = {}
        prices = []
        for index, line in enumerate(lines):
            with _naming(index):
                code = line.request.material
                if code not in materials:
                    materials[code] = self.quoter.catalog.material(code)
                wanted = _pickup_quote(line)
                if wanted not in quoted:
                    quoted[wanted] = self.quoter.quote(wanted, materials[code])
                prices.append(quoted[wanted])
        if request.fulfillment != "shipping":
            return prices
        first = lines[0]
        shipping_paise, method = self._parcel(
            request, first, materials[first.request.material], prices
        )
        return parcel_prices(prices, shipping_paise, method)

    def _parcel(
        self, request: CartRequest, first: _Line, material: Material, prices: list[PriceBreakdown]
    ) -> tuple[int, str | None]:
        """Shipping for the whole parcel: its total weight, from the first item's printer to
        the customer's PIN, by the partner a single checkout would use; and that partner."""
        settings, _ = self.quoter.catalog.pricing()
        geometry = geometry_of(first.summary)
        _, origin = self.quoter.printer_for(geometry, material, settings, first.request.infill_pct)
        parcel = QuoteRequest(
            geometry=geometry,
            material=first.request.material,
            color=first.request.color,
            quantity=first.request.quantity,
            infill_pct=first.request.infill_pct,
            priority=request.priority,
            fulfillment="shipping",
            shipping_zip=(request.shipping_address or {}).get("zip"),
            shipping_method=request.shipping_method,
        )
        # The weights the orders record (grams_total), so the events re-derive the charge.
        weight_g = sum(price.grams_total for price in prices)
        shipping = to_paise(self.quoter.shipping_cost(parcel, weight_g, origin))
        if self.quoter.shipping is None:
            return shipping, None
        return shipping, str(self.quoter.shipping.choose(request.shipping_method).spec["slug"])

    def _replayed(self, group_id: UUID, order_ids: list[UUID], fingerprint: str) -> CartResult:
        first = self.ordering.get_order(order_ids[0])
        if first.request_fingerprint != fingerprint:
            raise Conflict("Idempotency-Key was already used for a different checkout")
        orders = [first, *(self.ordering.get_order(order_id) for order_id in order_ids[1:])]
        return CartResult(group_id, orders, self.ordering.position(), created=False)


@contextmanager
def _naming(index: int) -> Iterator[None]:
    """A refusal about one item names it: 'items[3]: unknown material ...'."""
    try:
        yield
    except (InvalidInput, NotFound) as error:
        raise type(error)(f"items[{index}]: {error.message}") from error


def _item_request(cart: CartRequest, item: CartItem) -> CheckoutRequest:
    """The item as a single checkout of it, with the cart's shared choices."""
    return CheckoutRequest(
        customer_id=cart.customer_id,
        customer_email=cart.customer_email,
        material=item.material,
        color=item.color,
        quantity=item.quantity,
        infill_pct=item.infill_pct,
        fulfillment=cart.fulfillment,
        priority=cart.priority,
        shipping_address=cart.shipping_address,
        notes=cart.notes,
        session_id=item.session_id,
        catalog_model_id=item.catalog_model_id,
        shipping_method=cart.shipping_method,
        coupon_code=cart.coupon_code,
    )


def _pickup_quote(line: _Line) -> QuoteRequest:
    """The item priced without shipping: the parcel's one shipping line is added after."""
    single = line.request
    return QuoteRequest(
        geometry=geometry_of(line.summary),
        material=single.material,
        color=single.color,
        quantity=single.quantity,
        infill_pct=single.infill_pct,
        priority=single.priority,
        fulfillment="pickup",
        shipping_zip=None,
        unit_price_paise=line.item.price_paise if line.item else None,
    )


def _group_fingerprint(lines: list[_Line]) -> str:
    """Every item's fingerprint, in cart order: a key reused for another cart is spotted."""
    joined = "\n".join(["cart", *(line.fingerprint() for line in lines)])
    return hashlib.sha256(joined.encode()).hexdigest()
