"""Coupon use cases: staff manage codes; quotes check one; checkout redeems one with its order.

Coupons live in the ordering application's store (the design's table puts them in the
catalog): an order and the redemption of its coupon are then saved in one transaction, so
no crash can leave a use taken without its order, or an order without its use.
"""

from __future__ import annotations

import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from application.ordering import OrderingApp
from domain.cart_pricing import group_goods_paise, with_group_discount
from domain.coupons import Coupon, CouponTerms, coupon_id_for, is_well_formed, stored_changes
from domain.errors import Conflict, InvalidInput, NotFound
from domain.orders import Order
from domain.pricing import PriceBreakdown, goods_paise, with_discount

# Checkouts in one process take turns per coupon (lock stripes), so only another process's
# redemption can win a race; the loser reloads and decides again, this many times.
REDEEM_RETRIES = 50
LOCK_STRIPES = 64
CACHED_COUPONS = 256  # coupons kept in memory, fast-forwarded on each use

T = TypeVar("T")


def utc_now() -> datetime:
    """The clock coupons are checked against."""
    return datetime.now(UTC)


class Coupons:
    """Coupons on the ordering log: staff changes, checks, and atomic redemption."""

    def __init__(self, ordering: OrderingApp, clock: Callable[[], datetime] = utc_now) -> None:
        self.ordering = ordering
        self.clock = clock
        self._locks = [threading.Lock() for _ in range(LOCK_STRIPES)]
        self._cache: OrderedDict[UUID, Coupon] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.conflicts = 0  # version races lost (another process redeemed first): benchmarks

    # --- staff ------------------------------------------------------------------------

    def issue(self, code: str, fields: Mapping[str, Any], *, actor: str) -> tuple[Coupon, int]:
        """A new coupon; 409 when the code (in any case) exists or existed."""
        coupon = Coupon.issue(code, CouponTerms.parse(stored_changes(fields)), actor=actor)
        if self.ordering.recorder.select_events(coupon.id, limit=1):  # no replay needed
            raise Conflict(f"coupon code '{coupon.code}' already exists (codes are never reused)")
        try:
            return coupon, self.ordering.save_new(coupon)
        except Conflict as error:
            raise Conflict(f"coupon code '{coupon.code}' already exists") from error

    def get(self, coupon_id: UUID) -> Coupon:
        """The coupon (deleted ones too: their history stays), or NotFound."""
        coupon = self.ordering.find(coupon_id, Coupon)
        if coupon is None:
            raise NotFound("coupon not found")
        return coupon

    def change(
        self, coupon_id: UUID, fields: Mapping[str, Any], *, actor: str
    ) -> tuple[Coupon, bool, int]:
        """Change some terms (a deactivation is one): whether anything changed, and the
        position written (the head when nothing was)."""
        coupon = self.get(coupon_id)
        changed = coupon.change(stored_changes(fields), actor=actor)
        position = self.ordering.save_new(coupon) if changed else self.ordering.position()
        return coupon, changed, position

    def withdraw(self, coupon_id: UUID, *, actor: str) -> tuple[Coupon, int]:
        """Delete the coupon: customers no longer know it; its redemptions stay on record."""
        coupon = self.get(coupon_id)
        coupon.withdraw(actor=actor)
        return coupon, self.ordering.save_new(coupon)

    def find_code(self, code: str) -> Coupon | None:
        """The live coupon with this code (any case), or None."""
        if not is_well_formed(code):
            return None
        coupon = self.ordering.find(coupon_id_for(code), Coupon)
        return None if coupon is None or coupon.deleted else coupon

    # --- customers --------------------------------------------------------------------

    def preview(
        self, price: PriceBreakdown, code: str, *, customer_id: str | None = None
    ) -> PriceBreakdown:
        """The price as the coupon would discount it now, checked but not redeemed.

        A quote is not a reservation: it is anonymous and free, so holding a use for it
        would let anyone use up a coupon by asking for prices. Uses are taken at checkout.
        """
        coupon_id = self._known(code)
        with self._locks[coupon_id.int % LOCK_STRIPES]:
            coupon = self._load(coupon_id, code)
            discount = coupon.check(
                goods_paise=goods_paise(price), now=self.clock(), customer_id=customer_id
            )
            return with_discount(price, discount, coupon.applied())

    def redeem_with(
        self,
        price: PriceBreakdown,
        code: str,
        *,
        customer_id: str,
        order_id: UUID,
        build: Callable[[PriceBreakdown], Order],
    ) -> tuple[Order, int] | None:
        """Place the order `build` makes from the discounted price, redeeming in one save.

        None when the order's stream was written meanwhile (the same Idempotency-Key won).
        """

        def place(coupon: Coupon) -> tuple[Order, int]:
            discount = coupon.redeem(
                order_id=str(order_id),
                customer_id=customer_id,
                goods_paise=goods_paise(price),
                now=self.clock(),
                actor=f"customer:{customer_id}",
            )
            order = build(with_discount(price, discount, coupon.applied()))
            return order, self.ordering.save_new(order, coupon)

        return self._redeeming(code, place, written=order_id)

    def redeem_for_group(
        self,
        prices: Sequence[PriceBreakdown],
        code: str,
        *,
        customer_id: str,
        group_id: UUID,
        first_order_id: UUID,
        build: Callable[[list[PriceBreakdown]], list[Order]],
    ) -> tuple[list[Order], int] | None:
        """Place a cart's orders at their discounted prices, redeeming once for the group.

        The coupon is checked and its discount decided once, on the group's goods, and
        shared over the orders by domain.cart_pricing; its one use is held by the group
        (order_id = the group id), saved with every order in one transaction. None when
        the group was written meanwhile (the same Idempotency-Key won).
        """

        def place(coupon: Coupon) -> tuple[list[Order], int]:
            discount = coupon.redeem(
                order_id=str(group_id),
                customer_id=customer_id,
                goods_paise=group_goods_paise(prices),
                now=self.clock(),
                actor=f"customer:{customer_id}",
            )
            orders = build(with_group_discount(prices, discount, coupon.applied()))
            return orders, self.ordering.save_new(*orders, coupon)

        return self._redeeming(code, place, written=first_order_id)

    def _redeeming(self, code: str, place: Callable[[Coupon], T], *, written: UUID) -> T | None:
        """`place(coupon)` under the coupon's stripe, again on each lost version race.

        `place` redeems on the coupon and saves it with what it places. None when the order
        `written` exists after a lost race (a retry with the same key placed it).
        """
        coupon_id = self._known(code)
        with self._locks[coupon_id.int % LOCK_STRIPES]:
            for attempt in range(REDEEM_RETRIES):
                coupon = self._load(coupon_id, code)
                try:
                    return place(coupon)
                except Conflict:
                    self._forget(coupon_id)  # it holds a redemption that was not saved
                    if self.ordering.find(written, Order) is not None:
                        return None
                    with self._cache_lock:
                        self.conflicts += 1
                    time.sleep(random.uniform(0, 0.002 * (attempt + 1)))  # noqa: S311
                except BaseException:
                    self._forget(coupon_id)
                    raise
        raise Conflict("the coupon is in heavy demand right now; retry the checkout")

    def _known(self, code: str) -> UUID:
        """The stream id of a code that could name a coupon, else 422 'unknown'."""
        if not is_well_formed(code):
            raise InvalidInput(_unknown(code))
        return coupon_id_for(code)

    def _load(self, coupon_id: UUID, code: str) -> Coupon:
        """The coupon now: the cached copy with the events since (caller holds its stripe)."""
        with self._cache_lock:
            cached = self._cache.get(coupon_id)
        if cached is None:
            coupon = self.ordering.find(coupon_id, Coupon)
        else:
            coupon = self.ordering.fast_forward(cached)
        if coupon is None:
            raise InvalidInput(_unknown(code))
        with self._cache_lock:
            self._cache[coupon_id] = coupon
            self._cache.move_to_end(coupon_id)
            while len(self._cache) > CACHED_COUPONS:
                self._cache.popitem(last=False)
        return coupon

    def drop_cache(self) -> None:
        """Forget every cached coupon: the next use replays its stream (a cold process)."""
        with self._cache_lock:
            self._cache.clear()

    def _forget(self, coupon_id: UUID) -> None:
        with self._cache_lock:
            self._cache.pop(coupon_id, None)


def _unknown(code: str) -> str:
    return f"coupon_code: unknown coupon '{code.strip()}'"
