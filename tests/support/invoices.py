"""Invoices to render: a seller, buyers in and out of its state, and a group of N orders."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from domain.invoices import Invoice, Part, Party, TaxCode, build_invoice

SELLER = Party(
    name="Fab Works Private Limited",
    address_lines=("Unit 4, Marol Industrial Estate", "Andheri East, Mumbai 400059"),
    state_code="27",
    gstin="27AAPFU0939F1ZV",
)
BUYER_IN_STATE = Party(
    name="Asha Deshpande",
    address_lines=("Flat 12, Shivaji Nagar", "Pune 411005"),
    state_code="27",
    gstin=None,
)
BUYER_ELSEWHERE = Party(
    name="Bengaluru Robotics LLP",
    address_lines=("42 Residency Road", "Bengaluru 560025"),
    state_code="29",
    gstin="29AAGCB7383J1Z4",
)
CODE = TaxCode(date(2017, 7, 1), "3926", Decimal(18), "9968", Decimal(18))
ISSUED = date(2026, 4, 15)
UPI = "upi://pay?pa=fabworks@okaxis&pn=Fab%20Works&am=100.00&cu=INR&tr=PAY-1&tn=FL%2F26-27%2F00007"
GST = Decimal("0.18")


def group_parts(count: int) -> list[Part]:
    """`count` orders priced like the engine prices them: 18 % GST on the taxable value,
    every third with a coupon discount, every fourth with a priority surcharge, and the
    group's one shipping charge on its first order."""
    parts = []
    for i in range(count):
        subtotal = 98_765 + i * 10_037
        surcharge = subtotal // 4 if i % 4 == 1 else 0
        discount = 1_550 if i % 3 == 0 else 0
        taxable = subtotal + surcharge - discount
        tax = int((taxable * GST).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        parts.append(
            Part(
                reference=f"FAB-2604-{i + 1:05d}",
                description=f"PETG bracket v{i + 1}, black, 20 % infill",
                quantity=1 + i % 5,
                goods_paise=subtotal + surcharge,
                discount_paise=discount,
                taxable_paise=taxable,
                tax_paise=tax,
                rate=Decimal(18),
                shipping_paise=12_345 if i == 0 else 0,
            )
        )
    return parts


def group_invoice(
    lines: int = 20,
    *,
    buyer: Party = BUYER_IN_STATE,
    paid_paise: int = 0,
    upi_link: str | None = UPI,
    number: str = "FL/26-27/00007",
) -> Invoice:
    """A group's invoice: `lines` orders plus the shipping line."""
    parts = group_parts(lines)
    return build_invoice(
        number, ISSUED, SELLER, buyer, buyer.state_code or "27", parts, CODE, paid_paise, upi_link
    )
