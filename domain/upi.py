"""UPI: the `upi://pay` payment link (NPCI linking specification), the shop's UPI settings,
and the checks of what a payer types (VPA, UTR). Pure: no framework, no I/O.

A link or its QR code only pre-fills the payer's app: nothing calls the shop back. Without
a payment provider the proof of a UPI payment is the 12-digit UTR the payer sees, matched
with the amount against the bank statement.

Settings (shop settings, each change an event): `upi_vpa` (null: UPI is not offered until
an admin sets the shop's VPA) and `upi_payee_name` (the `pn` the payer's app shows).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from domain.errors import InvalidInput
from domain.money import from_paise
from domain.shop.settings import SettingSpec, register_setting

SCHEME = "upi://pay"
CURRENCY = "INR"  # UPI moves rupees only
VPA_SETTING = "upi_vpa"
PAYEE_NAME_SETTING = "upi_payee_name"
DEFAULT_PAYEE_NAME = "fabledger"
MAX_PAYEE_NAME = 50
# The payer's app shows `tn` on its confirmation screen, and apps cut it off beyond this.
MAX_NOTE = 50
# `tr` travels into the UPI transaction as the merchant's reference: NPCI caps transaction
# references at 35 characters and has UPI switches refuse special characters in them.
MAX_REFERENCE = 35
UTR_DIGITS = 12

# handle@psp: the handle as banks issue them, the PSP part a bank or app handle (okicici, ybl).
_VPA = re.compile(r"[A-Za-z0-9._-]{2,256}@[A-Za-z]{2,64}")
_REFERENCE = re.compile(r"[A-Za-z0-9]{1,35}")
_UTR = re.compile(r"[0-9]{12}")
_WHITESPACE = re.compile(r"\s+")
# What stays as typed in a link value: unreserved characters are never encoded by quote(),
# and '@' keeps a VPA readable (the specification's own examples: pa=nadeem@npci). Spaces
# become %20, never '+': UPI apps do not read '+' as a space.
_SAFE = "@"
UTR_MESSAGE = "utr: a UPI reference (UTR) is 12 digits"


def validate_vpa(text: Any, field: str = "vpa") -> str:
    """A UPI virtual payment address (handle@psp), stripped; InvalidInput naming the field."""
    vpa = text.strip() if isinstance(text, str) else ""
    if not _VPA.fullmatch(vpa):
        raise InvalidInput(
            f"{field}: a UPI ID is handle@psp, e.g. shop@okicici (handle 2-256 letters, digits,"
            " '.', '_' or '-'; psp letters only)"
        )
    return vpa


def validate_utr(text: Any) -> str:
    """The 12-digit UPI reference (UTR) a payer submits, without the spaces apps group it by."""
    utr = _WHITESPACE.sub("", text) if isinstance(text, str) else ""
    if not _UTR.fullmatch(utr):
        raise InvalidInput(UTR_MESSAGE)
    return utr


def trim_note(text: str) -> str:
    """The note as one line of at most MAX_NOTE characters (runs of whitespace made one space,
    unprintable characters dropped): what every app shows whole."""
    printable = "".join(char if char.isprintable() else " " for char in text)
    return _WHITESPACE.sub(" ", printable).strip()[:MAX_NOTE].rstrip()


def rupees_text(amount_paise: int) -> str:
    """The `am` value: rupees with exactly two decimals ("0.01", "1000.00")."""
    return str(from_paise(amount_paise))


def upi_link(*, vpa: str, payee_name: str, amount_paise: int, reference: str, note: str) -> str:
    """upi://pay?pa=..&pn=..&am=..&cu=INR&tr=..&tn=.. for a payment of this amount."""
    payee = validate_vpa(vpa, "upi_vpa")
    name = payee_name.strip()
    if not name:
        raise InvalidInput(f"{PAYEE_NAME_SETTING}: must not be blank")
    if isinstance(amount_paise, bool) or not isinstance(amount_paise, int) or amount_paise <= 0:
        raise InvalidInput("amount: a UPI payment is a positive whole number of paise")
    if not _REFERENCE.fullmatch(reference):
        raise InvalidInput(f"reference: 1-{MAX_REFERENCE} letters or digits (a UPI tr)")
    fields = (
        ("pa", payee),
        ("pn", name),
        ("am", rupees_text(amount_paise)),
        ("cu", CURRENCY),
        ("tr", reference),
        ("tn", trim_note(note)),
    )
    query = "&".join(f"{key}={quote(value, safe=_SAFE)}" for key, value in fields)
    return f"{SCHEME}?{query}"


# Settings.


def vpa_setting(key: str, value: Any) -> str | None:
    """The shop's UPI ID, or null to stop offering UPI."""
    return None if value is None else validate_vpa(value, key)


def payee_name_setting(key: str, value: Any) -> str:
    """1-50 printable characters: the name the payer's app shows next to the shop's UPI ID."""
    if not isinstance(value, str):
        raise InvalidInput(f"{key}: must be text (the name payers see)")
    name = value.strip()
    if not name or len(name) > MAX_PAYEE_NAME or not name.isprintable():
        raise InvalidInput(f"{key}: 1-{MAX_PAYEE_NAME} printable characters")
    return name


register_setting(
    VPA_SETTING,
    SettingSpec(
        None,
        "UPI payments: the shop's UPI ID (VPA, handle@psp) payers pay to; null: checkout does"
        " not offer UPI.",
        vpa_setting,
    ),
)
register_setting(
    PAYEE_NAME_SETTING,
    SettingSpec(
        DEFAULT_PAYEE_NAME,
        "UPI payments: the payee name (pn) the payer's UPI app shows with the shop's UPI ID.",
        payee_name_setting,
    ),
)
