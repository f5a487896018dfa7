"""Money and rates, exact: Decimal in memory, integer paise or decimal strings when stored.

The stored convention (events, views, messages), everywhere:
- money is a whole number of paise under a name ending in `_paise` (`total_paise: 123456`);
- rates and percentages are decimal strings under their own name (`gst_pct: "18"`);
- physical quantities (grams, hours, mm) stay plain numbers; they are estimates, not money.
Rupee floats exist only at the API edge, built from paise (`rupees_json`).
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from domain.errors import InvalidInput

PAISA = Decimal("0.01")
PAISE_PER_RUPEE = 100


def round_to_paise(amount: Decimal) -> Decimal:
    """THE rounding rule of every price line: to the paisa, half up (as invoices round).

    Each cost line is rounded once, here, when the engine computes it; totals are sums
    of rounded lines, so they need no rounding of their own.
    """
    return amount.quantize(PAISA, rounding=ROUND_HALF_UP)


def as_decimal(value: object, field: str) -> Decimal:
    """The number as an exact Decimal; a float counts as written (its shortest repr)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise InvalidInput(f"{field} must be a number, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"{field} must be a finite number, got {value!r}")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation as error:
        raise InvalidInput(f"{field} must be a number, got {value!r}") from error
    if not number.is_finite():
        raise InvalidInput(f"{field} must be a finite number, got {value!r}")
    return number


def decimal_places(value: Decimal) -> int:
    """How many digits the number has after the point (trailing zeros do not count)."""
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def decimal_text(value: Decimal) -> str:
    """The stored form of a rate: plain digits, no exponent, no trailing zeros ("18", "7.5")."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def to_paise(amount: Decimal) -> int:
    """Rupees already rounded to paise as whole paise; a finer amount is a bug, so refused."""
    paise = amount * PAISE_PER_RUPEE
    if paise != paise.to_integral_value():
        raise ValueError(f"{amount} rupees is not a whole number of paise; round it first")
    return int(paise)


def from_paise(paise: int) -> Decimal:
    """Whole paise as rupees (exact, two places)."""
    if isinstance(paise, bool) or not isinstance(paise, int):
        raise TypeError(f"paise must be an int, got {paise!r}")
    return Decimal(paise).scaleb(-2).quantize(PAISA)


def paise_from_legacy_rupees(amount: float | int) -> int:
    """Paise of a rupee float stored before money was exact (event version 1).

    Those floats were written from amounts already rounded to paise, so their shortest
    repr is the amount as written; the half-up rounding only guards hand-made data.
    """
    return to_paise(round_to_paise(as_decimal(amount, "amount")))


def rupees_json(paise: int) -> float:
    """Paise as the rupee number API answers carry (the float nearest the 2-decimal amount)."""
    return paise / PAISE_PER_RUPEE


def paise_of_rupees_text(text: str, field: str) -> int:
    """A positive rupee amount typed as text ("1234.50") in paise, refusing sub-paisa digits."""
    amount = as_decimal(text, field)
    if amount <= 0 or decimal_places(amount) > 2:
        raise InvalidInput(f"{field}: must be a positive amount in rupees with at most 2 decimals")
    return to_paise(round_to_paise(amount))
