"""The Coupon aggregate: one stream per code, with its terms and every redemption of it.

The stream id is derived from the normalised code (uuid5), so a code is unique without an
index and found without a read model. Redemptions are events on this stream: two checkouts
that redeem at once both write the stream's next version and the store accepts one, so a
K-use coupon is redeemed exactly K times however many try (the loser reloads and decides
again). Each Redeemed is saved with its Order in one transaction (application.coupons).

Stored form of the terms (events): percent_off a decimal string or amount_off_paise an int
(exactly one), min_order_paise an int, validity as ISO-8601 times with an offset.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, InvalidInput
from domain.money import (
    as_decimal,
    decimal_places,
    decimal_text,
    from_paise,
    round_to_paise,
    to_paise,
)

CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{2,31}")
CODE_RULE = "code: 3-32 letters, digits, '-' or '_', starting with a letter or digit"
MAX_AMOUNT_PAISE = 10_000_000_00  # ₹1 crore: far above any order, below any overflow
MAX_USES = 1_000_000_000
# What the coupon stream's events are called; the order log's readers tell them apart by it.
EVENT_TYPES = frozenset({"Issued", "TermsChanged", "Redeemed", "Released", "Withdrawn"})
TERM_FIELDS = (
    "percent_off",
    "amount_off_paise",
    "min_order_paise",
    "max_uses",
    "max_uses_per_customer",
    "valid_from",
    "valid_to",
    "active",
)


def normalise_code(raw: str) -> str:
    """Codes are case-insensitive: the stored and compared form is trimmed upper case."""
    return raw.strip().upper()


def coupon_id_for(code: str) -> UUID:
    """The stream id of a code (any case): one stream per code keeps codes unique."""
    return uuid5(NAMESPACE_URL, f"fabledger:coupon:{normalise_code(code)}")


def is_well_formed(code: str) -> bool:
    """Whether the code could name a coupon at all."""
    return CODE.fullmatch(normalise_code(code)) is not None


def rupees_to_paise(value: object, field: str) -> int:
    """A rupee amount as whole paise; a finer amount is refused, never rounded away."""
    amount = as_decimal(value, field)
    if decimal_places(amount) > 2:
        raise InvalidInput(f"{field} must be in whole paise (at most 2 decimals)")
    return to_paise(amount)


def rupees_text(paise: int) -> str:
    """₹ and two decimals, as refusals show amounts."""
    return f"₹{from_paise(paise)}"


def stored_changes(data: Mapping[str, Any]) -> dict[str, Any]:
    """Admin input (rupee numbers, percent numbers, times) in the stored form."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "percent_off":
            out[key] = None if value is None else decimal_text(as_decimal(value, key))
        elif key == "amount_off":
            out["amount_off_paise"] = None if value is None else rupees_to_paise(value, key)
        elif key == "min_order_value":
            out["min_order_paise"] = 0 if value is None else rupees_to_paise(value, key)
        elif key in ("valid_from", "valid_to"):
            out[key] = None if value is None else _moment(value, key).isoformat()
        elif key in ("max_uses", "max_uses_per_customer", "active"):
            out[key] = value
        else:
            raise InvalidInput(f"unknown coupon field '{key}'")
    return out


def _moment(value: object, field: str) -> datetime:
    """An aware datetime from a datetime or ISO-8601 text; a time without an offset is refused."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as error:
            raise InvalidInput(f"{field} must be an ISO-8601 time") from error
    if not isinstance(value, datetime):
        raise InvalidInput(f"{field} must be an ISO-8601 time")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{field} must include a timezone, e.g. 2026-11-21T10:00+05:30")
    return value


def _count(value: object, field: str, *, optional: bool) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_USES:
        raise InvalidInput(f"{field} must be a whole number from 1 to {MAX_USES} (or null)")
    return value


@dataclass(frozen=True)
class CouponTerms:
    """What a coupon takes off and when it may: exactly one of a percent or an amount."""

    percent_off: Decimal | None
    amount_off_paise: int | None
    min_order_paise: int = 0
    max_uses: int | None = None  # None: no total limit
    max_uses_per_customer: int | None = 1  # None: no limit per customer
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    active: bool = True

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> CouponTerms:
        """Validated terms from the stored form, or InvalidInput naming the field."""
        unknown = sorted(set(data) - set(TERM_FIELDS))
        if unknown:
            raise InvalidInput(f"unknown coupon field '{unknown[0]}'")
        percent, amount = data.get("percent_off"), data.get("amount_off_paise")
        if (percent is None) == (amount is None):
            raise InvalidInput("give exactly one of percent_off or amount_off")
        pct = None if percent is None else as_decimal(percent, "percent_off")
        if pct is not None and (not 0 < pct <= 100 or decimal_places(pct) > 2):
            raise InvalidInput("percent_off must be more than 0 and at most 100 (2 decimals)")
        if amount is not None and (
            isinstance(amount, bool)
            or not isinstance(amount, int)
            or not 0 < amount <= MAX_AMOUNT_PAISE
        ):
            ceiling = rupees_text(MAX_AMOUNT_PAISE)
            raise InvalidInput(f"amount_off must be more than 0 and at most {ceiling}")
        minimum = data.get("min_order_paise", 0)
        if (
            isinstance(minimum, bool)
            or not isinstance(minimum, int)
            or not (0 <= minimum <= MAX_AMOUNT_PAISE)
        ):
            raise InvalidInput(f"min_order_value must be from 0 to {rupees_text(MAX_AMOUNT_PAISE)}")
        start = _optional_moment(data.get("valid_from"), "valid_from")
        end = _optional_moment(data.get("valid_to"), "valid_to")
        if start is not None and end is not None and not start < end:
            raise InvalidInput("valid_to must be later than valid_from")
        active = data.get("active", True)
        if not isinstance(active, bool):
            raise InvalidInput("active must be true or false")
        return cls(
            percent_off=pct,
            amount_off_paise=amount,
            min_order_paise=minimum,
            max_uses=_count(data.get("max_uses"), "max_uses", optional=True),
            max_uses_per_customer=_count(
                data.get("max_uses_per_customer", 1), "max_uses_per_customer", optional=True
            ),
            valid_from=start,
            valid_to=end,
            active=active,
        )

    def to_dict(self) -> dict[str, Any]:
        """The stored form: primitives only."""
        data = asdict(self)
        data["percent_off"] = None if self.percent_off is None else decimal_text(self.percent_off)
        for key in ("valid_from", "valid_to"):
            moment = getattr(self, key)
            data[key] = None if moment is None else moment.isoformat()
        return data

    def discount_paise(self, goods_paise: int) -> int:
        """What the coupon takes off goods worth `goods_paise`, never more than they cost.

        A percent is rounded once, to the paisa, half up (domain.money.round_to_paise).
        """
        if self.percent_off is not None:
            off = to_paise(round_to_paise(from_paise(goods_paise) * self.percent_off / 100))
        else:
            off = self.amount_off_paise or 0
        return min(off, goods_paise)

    def refusal(
        self, code: str, *, goods_paise: int, now: datetime, uses: int, customer_uses: int | None
    ) -> str | None:
        """Why the coupon cannot be redeemed now on this order, or None when it can.

        `customer_uses` None: the customer is unknown (an anonymous quote), not checked.
        """
        name = f"coupon_code: coupon '{code}'"
        if not self.active:
            return f"{name} is inactive"
        if self.valid_from is not None and now < self.valid_from:
            return f"{name} is not yet valid; it starts on {self.valid_from.isoformat()}"
        if self.valid_to is not None and now > self.valid_to:
            return f"{name} expired on {self.valid_to.isoformat()}"
        if goods_paise < self.min_order_paise:
            return (
                f"{name} needs a minimum order of {rupees_text(self.min_order_paise)} before GST"
                f" and shipping; this order is {rupees_text(goods_paise)}"
            )
        if self.max_uses is not None and uses >= self.max_uses:
            return f"{name} is used up"
        limit = self.max_uses_per_customer
        if customer_uses is not None and limit is not None and customer_uses >= limit:
            times = "" if limit == 1 else f" {limit} times, its limit per customer"
            return f"coupon_code: you have already used coupon '{code}'{times}"
        return None


def discount_as_applied(applied: Mapping[str, Any], goods_paise: int) -> int:
    """The discount the coupon terms an order recorded (Coupon.applied) give on its goods."""
    percent = applied.get("percent_off")
    terms = CouponTerms(
        percent_off=None if percent is None else as_decimal(percent, "percent_off"),
        amount_off_paise=applied.get("amount_off_paise"),
    )
    return terms.discount_paise(goods_paise)


def _optional_moment(value: object, field: str) -> datetime | None:
    return None if value is None else _moment(value, field)


class Coupon(Aggregate):
    """A discount code: its terms, and the orders that hold one of its uses."""

    class Issued(Aggregate.Created):
        """A coupon was created; `terms` is CouponTerms in its stored form."""

        code: str
        terms: dict[str, Any]
        actor: str

    class TermsChanged(Aggregate.Event):
        """Staff changed the terms (activation included); `previous` holds the old ones."""

        terms: dict[str, Any]
        previous: dict[str, Any]
        actor: str

    class Redeemed(Aggregate.Event):
        """An order took one use, saved in the same transaction as the order's placement."""

        order_id: str
        customer_id: str
        discount_paise: int
        actor: str

    class Released(Aggregate.Event):
        """An order cancelled before payment gave its use back."""

        order_id: str
        customer_id: str
        discount_paise: int
        actor: str

    class Withdrawn(Aggregate.Event):
        """The coupon was deleted: unknown to customers, its history kept."""

        actor: str

    @event(Issued)
    def __init__(self, *, id: UUID, code: str, terms: dict[str, Any], actor: str) -> None:
        self.code = code
        self.terms = terms
        self.deleted = False
        # Orders holding a use: order id -> {"customer_id", "discount_paise"}.
        self.redemptions: dict[str, dict[str, Any]] = {}

    @classmethod
    def issue(cls, code: str, terms: CouponTerms, *, actor: str) -> Coupon:
        """A new coupon under its code's stream."""
        normal = normalise_code(code)
        if not CODE.fullmatch(normal):
            raise InvalidInput(CODE_RULE)
        return cls(id=coupon_id_for(normal), code=normal, terms=terms.to_dict(), actor=actor)

    @property
    def current(self) -> CouponTerms:
        """The terms now."""
        return CouponTerms.parse(self.terms)

    @property
    def uses(self) -> int:
        """Uses held by orders (given-back uses do not count)."""
        return len(self.redemptions)

    def uses_by(self, customer_id: str) -> int:
        """Uses one customer's orders hold."""
        return sum(1 for r in self.redemptions.values() if r["customer_id"] == customer_id)

    def applied(self) -> dict[str, Any]:
        """What an order's price records of the coupon that discounted it."""
        terms = self.current
        applied: dict[str, Any] = {"code": self.code}
        if terms.percent_off is not None:
            applied["percent_off"] = decimal_text(terms.percent_off)
        else:
            applied["amount_off_paise"] = terms.amount_off_paise
        return applied

    # --- commands -----------------------------------------------------------------

    def change(self, changes: Mapping[str, Any], *, actor: str) -> bool:
        """New terms from some fields (stored form); False when nothing differs.

        Setting one kind of discount clears the other unless both are given.
        """
        self._refuse_if_deleted()
        merged = {**self.terms, **changes}
        if changes.get("percent_off") is not None and "amount_off_paise" not in changes:
            merged["amount_off_paise"] = None
        if changes.get("amount_off_paise") is not None and "percent_off" not in changes:
            merged["percent_off"] = None
        terms = CouponTerms.parse(merged).to_dict()
        if terms == self.terms:
            return False
        self._terms_changed(terms=terms, previous=self.terms, actor=actor)
        return True

    def withdraw(self, *, actor: str) -> None:
        """Delete the coupon (soft: the stream and its redemptions stay)."""
        self._refuse_if_deleted()
        self._withdrawn(actor=actor)

    def check(self, *, goods_paise: int, now: datetime, customer_id: str | None) -> int:
        """The discount on goods worth `goods_paise`, or InvalidInput saying why not."""
        if self.deleted:
            raise InvalidInput(f"coupon_code: unknown coupon '{self.code}'")
        customer_uses = None if customer_id is None else self.uses_by(customer_id)
        terms = self.current
        reason = terms.refusal(
            self.code,
            goods_paise=goods_paise,
            now=now,
            uses=self.uses,
            customer_uses=customer_uses,
        )
        if reason is not None:
            raise InvalidInput(reason)
        return terms.discount_paise(goods_paise)

    def redeem(
        self, *, order_id: str, customer_id: str, goods_paise: int, now: datetime, actor: str
    ) -> int:
        """Take one use for an order; the discount in paise, or InvalidInput saying why not."""
        if order_id in self.redemptions:
            raise Conflict("this order already holds a use of the coupon")
        discount = self.check(goods_paise=goods_paise, now=now, customer_id=customer_id)
        self._redeemed(
            order_id=order_id, customer_id=customer_id, discount_paise=discount, actor=actor
        )
        return discount

    def release(self, *, order_id: str, actor: str) -> bool:
        """Give an order's use back; False when it holds none (nothing recorded)."""
        held = self.redemptions.get(order_id)
        if held is None:
            return False
        self._released(
            order_id=order_id,
            customer_id=held["customer_id"],
            discount_paise=held["discount_paise"],
            actor=actor,
        )
        return True

    # --- events (bodies only mutate: validation happened above) --------------------

    @event(TermsChanged)
    def _terms_changed(self, terms: dict[str, Any], previous: dict[str, Any], actor: str) -> None:
        self.terms = terms

    @event(Redeemed)
    def _redeemed(self, order_id: str, customer_id: str, discount_paise: int, actor: str) -> None:
        self.redemptions[order_id] = {"customer_id": customer_id, "discount_paise": discount_paise}

    @event(Released)
    def _released(self, order_id: str, customer_id: str, discount_paise: int, actor: str) -> None:
        self.redemptions.pop(order_id, None)

    @event(Withdrawn)
    def _withdrawn(self, actor: str) -> None:
        self.deleted = True

    def _refuse_if_deleted(self) -> None:
        if self.deleted:
            raise Conflict("this coupon was deleted")
