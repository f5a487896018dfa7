"""How a cart's orders share what belongs to the whole group: one parcel, one coupon.

A cart checkout places one order per item, each with its own price breakdown, and every
breakdown keeps the rule of domain.pricing: each total is the sum of its rounded lines.
What the group shares is split here, in whole paise, so the orders' totals add up to the
group's to the paisa:

- shipping is charged once for the parcel, on the first order's shipping line (the other
  orders' lines are zero, naming the same partner);
- a coupon's discount is decided once on the group's goods and shared out in proportion
  to each order's goods (largest remainder), so the shares sum to the discount exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from domain.money import from_paise, to_paise
from domain.pricing import PriceBreakdown, goods_paise, with_discount

MAX_CART_ITEMS = 50


def with_shipping(price: PriceBreakdown, shipping_paise: int, method: str | None) -> PriceBreakdown:
    """The price with a shipping line of `shipping_paise` by `method`, after GST (untaxed)."""
    if isinstance(shipping_paise, bool) or not isinstance(shipping_paise, int):
        raise TypeError(f"shipping must be whole paise, got {shipping_paise!r}")
    if shipping_paise < 0:
        raise ValueError(f"shipping cannot be negative, got {shipping_paise}")
    if price.shipping:
        raise ValueError("the price already carries shipping")
    shipping = from_paise(shipping_paise)
    return replace(
        price,
        shipping=shipping,
        total=price.pre_tax_total + price.gst + shipping,
        shipping_method=method,
    )


def parcel_prices(
    prices: Sequence[PriceBreakdown], shipping_paise: int, method: str | None
) -> list[PriceBreakdown]:
    """The parts of one parcel: the first carries its shipping, the rest travel with it."""
    return [
        with_shipping(price, shipping_paise if index == 0 else 0, method)
        for index, price in enumerate(prices)
    ]


def split_in_proportion(amount_paise: int, weights: Sequence[int]) -> list[int]:
    """`amount_paise` shared in proportion to `weights`, exact to the paisa.

    Largest remainder: each share is first rounded down, then the paise left over go one
    each to the largest remainders (ties to the earlier weight), so the shares sum to the
    amount and none is more than one paisa from its exact proportion. A zero weight gets
    nothing; no share exceeds its weight while the amount does not exceed their sum.
    """
    if amount_paise < 0 or any(w < 0 for w in weights):
        raise ValueError("amounts and weights cannot be negative")
    total = sum(weights)
    if total == 0:
        if amount_paise:
            raise ValueError(f"{amount_paise} paise cannot be shared over nothing")
        return [0 for _ in weights]
    parts = [divmod(amount_paise * weight, total) for weight in weights]
    shares = [whole for whole, _ in parts]
    left = amount_paise - sum(shares)
    by_remainder = sorted(range(len(parts)), key=lambda i: (-parts[i][1], i))
    for index in by_remainder[:left]:
        shares[index] += 1
    return shares


def group_goods_paise(prices: Sequence[PriceBreakdown]) -> int:
    """What a coupon discounts on a group: the goods of every order, before GST."""
    return sum(goods_paise(price) for price in prices)


def with_group_discount(
    prices: Sequence[PriceBreakdown], discount_paise: int, coupon: Mapping[str, Any]
) -> list[PriceBreakdown]:
    """Each order's price with its share of the group's discount, GST on what is left."""
    shares = split_in_proportion(discount_paise, [goods_paise(price) for price in prices])
    return [
        with_discount(price, share, coupon) for price, share in zip(prices, shares, strict=True)
    ]


def group_total_paise(prices: Sequence[PriceBreakdown]) -> int:
    """The group's total: the sum of its orders' totals (each already a sum of paise)."""
    return sum(to_paise(price.total) for price in prices)
