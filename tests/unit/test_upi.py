"""Story: the UPI rules on their own: the `upi://pay` link a payer's app opens (fields in the
specification's order, rupees with two decimals, %20 for spaces), the shop's UPI settings,
and what a payer may type as a UPI ID or as the UTR of their transfer."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from domain.errors import InvalidInput
from domain.shop.settings import SPECS, ShopSettings
from domain.upi import (
    MAX_NOTE,
    UTR_MESSAGE,
    rupees_text,
    trim_note,
    upi_link,
    validate_utr,
    validate_vpa,
)


def link(**overrides: Any) -> str:
    fields: dict[str, Any] = {
        "vpa": "fabledger@okicici",
        "payee_name": "fabledger",
        "amount_paise": 123456,
        "reference": "FL2026000123",
        "note": "Order FL-123",
    }
    return upi_link(**{**fields, **overrides})


def test_the_link_names_payee_amount_currency_reference_and_note_in_order() -> None:
    assert link() == (
        "upi://pay?pa=fabledger@okicici&pn=fabledger&am=1234.56&cu=INR"
        "&tr=FL2026000123&tn=Order%20FL-123"
    )


@pytest.mark.parametrize(
    ("paise", "am"),
    [(1, "0.01"), (10, "0.10"), (100, "1.00"), (100000, "1000.00"), (12345678, "123456.78")],
)
def test_amounts_are_rupees_with_exactly_two_decimals(paise: int, am: str) -> None:
    assert rupees_text(paise) == am
    assert f"&am={am}&" in link(amount_paise=paise)


def test_spaces_are_percent_20_and_ampersands_cannot_split_a_field() -> None:
    url = link(payee_name="Fab & Ledger Prints", note="2 parts & 1 bracket=done #1+2")

    assert "pn=Fab%20%26%20Ledger%20Prints&" in url
    assert url.endswith("&tn=2%20parts%20%26%201%20bracket%3Ddone%20%231%2B2")
    assert "+" not in url and " " not in url
    query = dict(parse_qsl(urlsplit(url).query))  # an app decoding the link gets it all back
    assert query["pn"] == "Fab & Ledger Prints"
    assert query["tn"] == "2 parts & 1 bracket=done #1+2"
    assert list(query) == ["pa", "pn", "am", "cu", "tr", "tn"]


def test_the_at_sign_of_the_upi_id_stays_readable_and_unicode_is_utf8() -> None:
    url = link(vpa="shop.prints-1@ybl", payee_name="फ़ैब")
    assert "pa=shop.prints-1@ybl&" in url
    assert "pn=%E0%A4%AB%E0%A4%BC%E0%A5%88%E0%A4%AC&" in url


def test_notes_are_one_short_line() -> None:
    assert trim_note("  Order\tFL-1\n\nand   more ") == "Order FL-1 and more"
    assert trim_note("x" * 80) == "x" * MAX_NOTE
    assert trim_note("a\x00b") == "a b"
    assert link(note="n" * 60).endswith("&tn=" + "n" * MAX_NOTE)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amount_paise", 0, "amount"),
        ("amount_paise", -100, "amount"),
        ("amount_paise", True, "amount"),
        ("reference", "", "reference"),
        ("reference", "FL-1", "reference"),  # NPCI: letters and digits only
        ("reference", "A" * 36, "reference"),
        ("payee_name", "   ", "upi_payee_name"),
        ("vpa", "not-a-vpa", "upi_vpa"),
    ],
)
def test_a_link_is_never_built_from_a_bad_part(field: str, value: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        link(**{field: value})


@pytest.mark.parametrize(
    "vpa", ["ab@ybl", "shop.prints_1-x@okicici", "9876543210@paytm", "A" * 256 + "@upi"]
)
def test_upi_ids_are_handle_at_psp(vpa: str) -> None:
    assert validate_vpa(f"  {vpa} ") == vpa


@pytest.mark.parametrize(
    "vpa",
    [
        "",
        "shop",
        "a@ybl",  # a one-character handle
        "A" * 257 + "@upi",
        "shop@ok icici",
        "shop@ok1cici",  # the PSP part is letters only
        "shop@@ybl",
        "sh op@ybl",
        "shop@ybl.com",
        "shop@",
        "@ybl",
        None,
        42,
    ],
)
def test_anything_else_is_refused_naming_the_field(vpa: Any) -> None:
    with pytest.raises(InvalidInput, match=r"^upi_vpa: "):
        validate_vpa(vpa, "upi_vpa")
    with pytest.raises(InvalidInput, match=r"^vpa: "):
        validate_vpa(vpa)


def test_a_utr_is_twelve_digits_however_it_was_grouped() -> None:
    assert validate_utr("412345678901") == "412345678901"
    assert validate_utr(" 4123 4567 8901 ") == "412345678901"


@pytest.mark.parametrize(
    "utr",
    ["", "41234567890", "4123456789012", "41234567890A", "४१२३४५६७८९०१", "4123-4567-8901", 12],
)
def test_anything_but_twelve_digits_is_not_a_utr(utr: Any) -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_utr(utr)
    assert refused.value.message == UTR_MESSAGE == "utr: a UPI reference (UTR) is 12 digits"


def test_upi_is_off_until_an_admin_sets_the_shops_upi_id() -> None:
    settings = ShopSettings.create()
    assert settings.value("upi_vpa") is None
    assert settings.value("upi_payee_name") == "fabledger"

    assert settings.change("upi_vpa", " prints@okaxis ", actor="user:admin-1")
    assert settings.change("upi_payee_name", " Fab Prints ", actor="user:admin-1")
    assert (settings.value("upi_vpa"), settings.value("upi_payee_name")) == (
        "prints@okaxis",
        "Fab Prints",
    )
    assert settings.change("upi_vpa", None, actor="user:admin-1")  # UPI off again
    assert settings.value("upi_vpa") is None
    assert "UPI" in SPECS["upi_vpa"].description


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("upi_vpa", "prints", "upi_vpa: a UPI ID is handle@psp"),
        ("upi_vpa", 5, "upi_vpa: a UPI ID is handle@psp"),
        ("upi_payee_name", "", "upi_payee_name: 1-50 printable characters"),
        ("upi_payee_name", "x" * 51, "upi_payee_name: 1-50 printable characters"),
        ("upi_payee_name", "Fab\nPrints", "upi_payee_name: 1-50 printable characters"),
        ("upi_payee_name", None, "upi_payee_name: must be text"),
    ],
)
def test_bad_upi_settings_are_refused_and_nothing_is_recorded(
    key: str, value: Any, message: str
) -> None:
    settings = ShopSettings.create()
    with pytest.raises(InvalidInput, match=message):
        settings.change(key, value, actor="user:admin-1")
    assert settings.values == {}
