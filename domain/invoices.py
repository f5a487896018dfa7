"""GST tax invoices: what one invoice says, computed from the orders' stored prices.

Pure value objects and rules (no I/O); the PDF is infra.invoice_pdf, the number comes from
domain.invoice_numbers and GSTINs are checked by domain.gstin.

The orders are the authority on money: each goods line carries its order's taxable value
and GST exactly as the order charged them, never recomputed, so the invoice total equals
what the customer was asked to pay, to the paisa. Intra-state supply (place of supply in the
seller's state) splits each line's tax into CGST and SGST; inter-state puts it all in IGST.
Shipping is one line for the parcel: the carrier's price already includes its GST, so the
line is split back into taxable value and tax at the dated SAC rate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from domain.errors import InvalidInput
from domain.india_states import BY_CODE

GOODS_UNIT = "NOS"  # numbers: the GST portal's unit quantity code for pieces
SHIPPING_UNIT = "-"
SHIPPING_DESCRIPTION = "Shipping"
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Party:
    """The seller or the buyer as the invoice names them."""

    name: str
    address_lines: tuple[str, ...]
    state_code: str | None  # two digits (domain.india_states); None when unknown
    gstin: str | None  # None: not registered


@dataclass(frozen=True)
class TaxCode:
    """The HSN/SAC codes and rates in force from a day on (a dated shop setting)."""

    valid_from: date
    goods_hsn: str
    goods_rate: Decimal  # percent, e.g. 18
    shipping_sac: str
    shipping_rate: Decimal  # percent included in the carrier's price


@dataclass(frozen=True)
class Part:
    """One order of the invoice, as its stored price says (money in paise)."""

    reference: str  # the order's tracking number
    description: str
    quantity: int
    goods_paise: int  # subtotal + priority surcharge
    discount_paise: int
    taxable_paise: int  # the order's pre_tax_total
    tax_paise: int  # the order's GST
    rate: Decimal  # the GST percent the order charged
    shipping_paise: int  # the carrier's price including its GST

    def __post_init__(self) -> None:
        if self.goods_paise - self.discount_paise != self.taxable_paise:
            raise ValueError(
                f"order {self.reference}: goods {self.goods_paise} - discount"
                f" {self.discount_paise} != taxable {self.taxable_paise}"
            )


@dataclass(frozen=True)
class InvoiceLine:
    """One printed line: goods of one order, or the shipping of the parcel."""

    description: str
    hsn: str  # HSN for goods, SAC for the shipping service
    quantity: int
    unit: str  # "NOS", or "-" for shipping
    gross_paise: int
    discount_paise: int
    taxable_paise: int
    rate: Decimal
    cgst_paise: int
    sgst_paise: int
    igst_paise: int
    total_paise: int


@dataclass(frozen=True)
class Invoice:
    """Everything a GST tax invoice shows (Rule 46), with its totals already summed."""

    number: str
    issued_on: date
    seller: Party
    buyer: Party
    place_of_supply: str  # state code
    intra_state: bool
    lines: tuple[InvoiceLine, ...]
    taxable_paise: int
    cgst_paise: int
    sgst_paise: int
    igst_paise: int
    total_paise: int
    amount_in_words: str
    paid_paise: int
    due_paise: int
    upi_link: str | None  # only while something is due
    orders: tuple[str, ...]  # tracking numbers
    reverse_charge: bool = False


def code_on(day: date, codes: Sequence[TaxCode]) -> TaxCode:
    """The code in force on a day: the latest valid_from on or before it."""
    current = [code for code in codes if code.valid_from <= day]
    if not current:
        raise InvalidInput(f"no HSN/SAC tax code is valid on {day.isoformat()}")
    return max(current, key=lambda code: code.valid_from)


def part_from_price(
    reference: str, description: str, quantity: int, price: Mapping[str, Any]
) -> Part:
    """A Part from an order's stored price (`<line>_paise` ints, gst_pct a decimal string)."""
    return Part(
        reference=reference,
        description=description,
        quantity=quantity,
        goods_paise=price["subtotal_paise"] + price["priority_surcharge_paise"],
        discount_paise=price.get("discount_paise", 0),
        taxable_paise=price["pre_tax_total_paise"],
        tax_paise=price["gst_paise"],
        rate=Decimal(str(price["gst_pct"])),
        shipping_paise=price["shipping_paise"],
    )


def split_tax(tax_paise: int, intra_state: bool) -> tuple[int, int, int]:
    """(CGST, SGST, IGST) of a line's tax.

    Intra-state the two heads are each half the rate; an odd paisa cannot be halved, so
    CGST takes the rounded-up half and SGST the rest: the heads stay within a paisa of each
    other and always add up to the tax the order charged.
    """
    if not intra_state:
        return 0, 0, tax_paise
    cgst = -(-tax_paise // 2)
    return cgst, tax_paise - cgst, 0


def tax_included(amount_paise: int, rate: Decimal) -> tuple[int, int]:
    """(taxable, tax) of a price that includes tax at rate %: taxable rounded half up."""
    taxable = (Decimal(amount_paise) * _HUNDRED / (_HUNDRED + rate)).quantize(
        Decimal(1), rounding=ROUND_HALF_UP
    )
    return int(taxable), amount_paise - int(taxable)


def _line(
    description: str,
    hsn: str,
    quantity: int,
    unit: str,
    gross: int,
    discount: int,
    taxable: int,
    tax: int,
    rate: Decimal,
    intra_state: bool,
) -> InvoiceLine:
    cgst, sgst, igst = split_tax(tax, intra_state)
    return InvoiceLine(
        description=description,
        hsn=hsn,
        quantity=quantity,
        unit=unit,
        gross_paise=gross,
        discount_paise=discount,
        taxable_paise=taxable,
        rate=rate,
        cgst_paise=cgst,
        sgst_paise=sgst,
        igst_paise=igst,
        total_paise=taxable + tax,
    )


def build_invoice(
    number: str,
    issued_on: date,
    seller: Party,
    buyer: Party,
    place_of_supply: str,
    parts: Sequence[Part],
    code: TaxCode,
    paid_paise: int,
    upi_link: str | None,
) -> Invoice:
    """The invoice of these orders: one goods line per order, one shipping line, totals."""
    if not parts:
        raise InvalidInput("an invoice covers at least one order")
    if seller.state_code not in BY_CODE:
        raise InvalidInput("the seller's state code is not a GST state (invoice_seller)")
    if place_of_supply not in BY_CODE:
        raise InvalidInput(f"place of supply '{place_of_supply}' is not a GST state code")
    if paid_paise < 0:
        raise InvalidInput("paid amount cannot be negative")
    # ERPNext's India Compliance rule too: same state code as the seller means intra-state.
    intra = place_of_supply == seller.state_code
    lines = [
        _line(
            f"{part.description} (order {part.reference})",
            code.goods_hsn,
            part.quantity,
            GOODS_UNIT,
            part.goods_paise,
            part.discount_paise,
            part.taxable_paise,
            part.tax_paise,
            part.rate,
            intra,
        )
        for part in parts
    ]
    # A group ships as one parcel: one shipping charge, whichever orders carry it.
    shipping = sum(part.shipping_paise for part in parts)
    if shipping > 0:
        taxable, tax = tax_included(shipping, code.shipping_rate)
        lines.append(
            _line(
                SHIPPING_DESCRIPTION,
                code.shipping_sac,
                1,
                SHIPPING_UNIT,
                taxable,
                0,
                taxable,
                tax,
                code.shipping_rate,
                intra,
            )
        )
    total = sum(line.total_paise for line in lines)
    charged = sum(part.taxable_paise + part.tax_paise + part.shipping_paise for part in parts)
    assert total == charged, f"invoice total {total} != the orders' {charged}"
    due = max(total - paid_paise, 0)
    return Invoice(
        number=number,
        issued_on=issued_on,
        seller=seller,
        buyer=buyer,
        place_of_supply=place_of_supply,
        intra_state=intra,
        lines=tuple(lines),
        taxable_paise=sum(line.taxable_paise for line in lines),
        cgst_paise=sum(line.cgst_paise for line in lines),
        sgst_paise=sum(line.sgst_paise for line in lines),
        igst_paise=sum(line.igst_paise for line in lines),
        total_paise=total,
        amount_in_words=amount_in_words(total),
        paid_paise=paid_paise,
        due_paise=due,
        upi_link=upi_link if due > 0 else None,
        orders=tuple(part.reference for part in parts),
    )


# Figures and words, the Indian way.

_ONES = (
    *("Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine"),
    *("Ten", "Eleven", "Twelve", "Thirteen", "Fourteen", "Fifteen", "Sixteen", "Seventeen"),
    *("Eighteen", "Nineteen"),
)
_TENS = ("", "", "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety")
CRORE, LAKH, THOUSAND = 10**7, 10**5, 10**3


def _below_hundred(n: int) -> str:
    if n < 20:
        return _ONES[n]
    tens, ones = divmod(n, 10)
    return _TENS[tens] + (f" {_ONES[ones]}" if ones else "")


def _below_thousand(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    words = [f"{_ONES[hundreds]} Hundred"] if hundreds else []
    if rest:
        words.append(_below_hundred(rest))
    return " ".join(words)


def number_in_words(n: int) -> str:
    """A whole number in Indian words: thousand, lakh, crore (crores of crores nest)."""
    if n < 0:
        raise ValueError(f"no words for a negative number: {n}")
    if n == 0:
        return _ONES[0]
    crores, rest = divmod(n, CRORE)
    lakhs, rest = divmod(rest, LAKH)
    thousands, rest = divmod(rest, THOUSAND)
    words = [f"{number_in_words(crores)} Crore"] if crores else []
    words += [f"{_below_hundred(lakhs)} Lakh"] if lakhs else []
    words += [f"{_below_hundred(thousands)} Thousand"] if thousands else []
    words += [_below_thousand(rest)] if rest else []
    return " ".join(words)


def amount_in_words(paise: int) -> str:
    """e.g. 123456789 -> "Rupees Twelve Lakh ... Sixty Seven and Eighty Nine Paise Only"."""
    if paise < 0:
        raise ValueError(f"no words for a negative amount: {paise}")
    rupees, rest = divmod(paise, 100)
    text = f"Rupees {number_in_words(rupees)}"
    if rest:
        text += f" and {_below_hundred(rest)} Paise"
    return f"{text} Only"


def indian_grouping(paise: int) -> str:
    """Rupees with two decimals, grouped the Indian way: 12345678 -> "1,23,456.78"."""
    sign = "-" if paise < 0 else ""
    rupees, rest = divmod(abs(paise), 100)
    digits = str(rupees)
    head, tail = digits[:-3], digits[-3:]
    groups: list[str] = []
    while head:
        groups.insert(0, head[-2:])
        head = head[:-2]
    return f"{sign}{','.join([*groups, tail])}.{rest:02d}"
