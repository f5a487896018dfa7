"""The invoice shop settings: who sells (name, address, state, GSTIN), the number prefix, and
the dated HSN/SAC codes and rates. Each change is a ShopSettings event with its actor.

- `invoice_seller`: {legal_name, address (lines separated by newlines), state_code (two
  digits), gstin (null: not registered)}; a GSTIN must carry the seller's state code.
- `invoice_prefix`: 1-4 letters or digits (upper-cased), e.g. "FL" -> FL/26-27/00001.
- `invoice_tax_codes`: [{valid_from "YYYY-MM-DD", goods_hsn, goods_rate, shipping_sac,
  shipping_rate}], stored sorted by date. The right code and rate for 3D printing are
  unsettled and rates change by notification (22 Sep 2025), so they are dated settings:
  an invoice uses the entry in force on its date (domain.invoices.code_on).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from itertools import pairwise
from typing import Any

from domain.errors import InvalidInput
from domain.gstin import validate_gstin
from domain.india_states import BY_CODE
from domain.invoice_numbers import PREFIX_RULE, normalise_prefix
from domain.invoices import Party, TaxCode
from domain.money import as_decimal, decimal_places, decimal_text
from domain.shop.settings import SettingSpec, register_setting

SELLER_SETTING = "invoice_seller"
PREFIX_SETTING = "invoice_prefix"
TAX_CODES_SETTING = "invoice_tax_codes"

SELLER_FIELDS = ("legal_name", "address", "state_code", "gstin")
TAX_CODE_FIELDS = ("valid_from", "goods_hsn", "goods_rate", "shipping_sac", "shipping_rate")
MAX_NAME = 200
MAX_ADDRESS_LINES = 6
MAX_ADDRESS_LINE = 100
MAX_TAX_CODES = 100
MAX_RATE = Decimal(100)
_HSN = re.compile(r"\d{4}|\d{6}|\d{8}")  # 4 digits below 5 crore turnover, else 6 or 8
_SAC = re.compile(r"99(\d{2}|\d{4})")  # services are chapter 99: heading or 6-digit code
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_STATE_CODE = re.compile(r"\d{2}")

DEFAULT_SELLER: dict[str, Any] = {
    "legal_name": "fabledger (set invoice_seller)",
    "address": "set the registered address",
    "state_code": "27",
    "gstin": None,
}
DEFAULT_PREFIX = "FL"
DEFAULT_TAX_CODES: list[dict[str, str]] = [
    {
        "valid_from": "2017-07-01",  # GST began
        "goods_hsn": "3926",  # other articles of plastics
        "goods_rate": "18",
        "shipping_sac": "9968",  # postal and courier services
        "shipping_rate": "18",
    }
]


def _object(key: str, value: Any, fields: tuple[str, ...], required: tuple[str, ...]) -> None:
    if not isinstance(value, dict):
        raise InvalidInput(f"{key}: must be an object with {', '.join(fields)}")
    unknown = sorted(str(name) for name in set(value) - set(fields))
    if unknown:
        raise InvalidInput(
            f"{key}: {unknown[0][:60]}: unknown field; fields are {', '.join(fields)}"
        )
    missing = [name for name in required if name not in value]
    if missing:
        raise InvalidInput(f"{key}: {missing[0]}: missing")


def _line(key: str, field: str, value: Any, most: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{key}: {field}: must be text")
    text = " ".join(value.split())
    if not text.isprintable():
        raise InvalidInput(f"{key}: {field}: holds a character that is not printable")
    if len(text) > most:
        raise InvalidInput(f"{key}: {field}: at most {most} characters")
    return text


def _state_code(key: str, value: Any) -> str:
    if not isinstance(value, str) or not _STATE_CODE.fullmatch(value) or value not in BY_CODE:
        raise InvalidInput(f"{key}: state_code: must be a GST state code of two digits, e.g. 27")
    return value


def seller(key: str, value: Any) -> dict[str, Any]:
    """The seller as invoices print it; the GSTIN checked and matched to the state."""
    _object(key, value, SELLER_FIELDS, SELLER_FIELDS[:3])
    name = _line(key, "legal_name", value["legal_name"], MAX_NAME)
    address = value["address"]
    if not isinstance(address, str):
        raise InvalidInput(f"{key}: address: must be text (one line per address line)")
    raw_lines = address.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = [_line(key, "address", line, MAX_ADDRESS_LINE) for line in raw_lines if line.strip()]
    if not 1 <= len(lines) <= MAX_ADDRESS_LINES:
        raise InvalidInput(f"{key}: address: 1 to {MAX_ADDRESS_LINES} lines")
    state_code = _state_code(key, value["state_code"])
    gstin = value.get("gstin")
    if isinstance(gstin, str) and not gstin.strip():
        gstin = None  # blank: not registered
    if gstin is not None:
        try:
            gstin = validate_gstin(gstin)
        except InvalidInput as error:
            raise InvalidInput(f"{key}: gstin: {error.message}") from error
        if gstin[:2] != state_code:
            raise InvalidInput(
                f"{key}: gstin: starts with state code {gstin[:2]}, but state_code is {state_code}"
            )
    address = "\n".join(lines)
    return {"legal_name": name, "address": address, "state_code": state_code, "gstin": gstin}


def prefix(key: str, value: Any) -> str:
    """The invoice number prefix, upper-cased."""
    try:
        return normalise_prefix(value)
    except InvalidInput as error:
        raise InvalidInput(f"{key}: must be {PREFIX_RULE}, e.g. FL") from error


def _rate(key: str, field: str, value: Any) -> str:
    try:
        rate = as_decimal(value, field)
    except InvalidInput as error:
        raise InvalidInput(f'{key}: {field}: must be a percent, e.g. "18"') from error
    if not 0 <= rate <= MAX_RATE or decimal_places(rate) > 2:
        raise InvalidInput(f"{key}: {field}: a percent from 0 to 100, at most 2 decimals")
    return decimal_text(rate)


def _day(key: str, value: Any) -> str:
    try:
        if not isinstance(value, str) or not _DAY.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value).isoformat()
    except ValueError as error:
        raise InvalidInput(f"{key}: valid_from: must be a date as YYYY-MM-DD") from error


def _code(key: str, field: str, value: Any, pattern: re.Pattern[str], rule: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InvalidInput(f"{key}: {field}: must be {rule}")
    return value


def tax_code_list(key: str, value: Any) -> list[dict[str, str]]:
    """The dated codes and rates, sorted by valid_from; one entry per date."""
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_TAX_CODES:
        raise InvalidInput(f"{key}: must be a list of 1 to {MAX_TAX_CODES} dated tax codes")
    entries = []
    for item in value:
        _object(key, item, TAX_CODE_FIELDS, TAX_CODE_FIELDS)
        entries.append(
            {
                "valid_from": _day(key, item["valid_from"]),
                "goods_hsn": _code(key, "goods_hsn", item["goods_hsn"], _HSN, "4, 6 or 8 digits"),
                "goods_rate": _rate(key, "goods_rate", item["goods_rate"]),
                "shipping_sac": _code(
                    key, "shipping_sac", item["shipping_sac"], _SAC, "4 or 6 digits starting 99"
                ),
                "shipping_rate": _rate(key, "shipping_rate", item["shipping_rate"]),
            }
        )
    entries.sort(key=lambda entry: entry["valid_from"])
    for before, after in pairwise(entries):
        if before["valid_from"] == after["valid_from"]:
            raise InvalidInput(f"{key}: valid_from: {after['valid_from']} appears twice")
    return entries


def seller_party(value: Mapping[str, Any]) -> Party:
    """The stored invoice_seller as the invoice's seller."""
    return Party(
        name=value["legal_name"],
        address_lines=tuple(value["address"].split("\n")),
        state_code=value["state_code"],
        gstin=value.get("gstin"),
    )


def tax_codes(value: Sequence[Mapping[str, str]]) -> tuple[TaxCode, ...]:
    """The stored invoice_tax_codes as TaxCode values (for domain.invoices.code_on)."""
    return tuple(
        TaxCode(
            valid_from=date.fromisoformat(entry["valid_from"]),
            goods_hsn=entry["goods_hsn"],
            goods_rate=Decimal(entry["goods_rate"]),
            shipping_sac=entry["shipping_sac"],
            shipping_rate=Decimal(entry["shipping_rate"]),
        )
        for entry in value
    )


for _key, _spec in {
    SELLER_SETTING: SettingSpec(
        DEFAULT_SELLER,
        "The seller on tax invoices: legal_name, address (one line per line), state_code"
        " (two digits) and gstin (null: invoices say 'not registered').",
        seller,
    ),
    PREFIX_SETTING: SettingSpec(
        DEFAULT_PREFIX,
        "Invoice number prefix (1-4 letters or digits): numbers read PREFIX/26-27/00001 and"
        " restart each financial year; a new prefix starts a new series.",
        prefix,
    ),
    TAX_CODES_SETTING: SettingSpec(
        DEFAULT_TAX_CODES,
        "HSN code and GST rate of printed parts, SAC code and GST rate included in the"
        " shipping price, each entry in force from valid_from (YYYY-MM-DD) on.",
        tax_code_list,
    ),
}.items():
    register_setting(_key, _spec)
