"""Stories about GST tax invoices: who may sell (GSTIN), which number, which year, what each
line and tax head says, and the total in figures and words."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from domain.errors import Conflict, InvalidInput
from domain.gstin import gstin_check_char, validate_gstin
from domain.invoice_numbers import (
    InvoiceSeries,
    check_financial_year,
    financial_year,
    invoice_number,
    normalise_prefix,
    series_id,
)
from domain.invoices import (
    Part,
    TaxCode,
    amount_in_words,
    build_invoice,
    code_on,
    indian_grouping,
    number_in_words,
    part_from_price,
    split_tax,
    tax_included,
)
from domain.shop import invoicing
from domain.shop.settings import spec_of
from tests.support.invoices import (
    BUYER_ELSEWHERE,
    BUYER_IN_STATE,
    CODE,
    ISSUED,
    SELLER,
    UPI,
    group_invoice,
    group_parts,
)

# Published GSTINs whose check characters were computed elsewhere (the GST portal's
# documentation example and widely quoted registrations), never by this code.
KNOWN_GOOD = ("27AAPFU0939F1ZV", "29AAGCB7383J1Z4", "27AASCS2460H1Z0")


# GSTIN.


@pytest.mark.parametrize("gstin", KNOWN_GOOD)
def test_published_gstins_are_valid_and_their_check_character_agrees(gstin: str) -> None:
    assert validate_gstin(gstin) == gstin
    assert gstin_check_char(gstin[:14]) == gstin[14]


def test_a_gstin_is_trimmed_and_upper_cased() -> None:
    assert validate_gstin("  27aapfu0939f1zv \n") == "27AAPFU0939F1ZV"


@pytest.mark.parametrize(
    ("gstin", "reason"),
    [
        ("27AAPFU0939F1ZW", "check character"),  # one character off at the end
        ("27AAPFU0939F1ZO", "check character"),
        ("27AAPFU0993F1ZV", "check character"),  # two digits swapped
        ("27AAPFU0939F2ZV", "check character"),  # a second registration, old check char
        ("72AAPFU0939F1ZV", "state code '72'"),
        ("00AAPFU0939F1ZV", "state code '00'"),
        ("28AAPFU0939F1ZV", "state code '28'"),  # old Andhra Pradesh: not a code any more
        ("27AAPF10939F1ZV", "PAN"),
        ("27AAPFU093XF1ZV", "PAN"),
        ("27AAPFU0939F0ZV", "character 13"),
        ("27AAPFU0939F1YV", "character 14"),
        ("27AAPFU0939F1Z", "15 characters"),
        ("27AAPFU0939F1ZV1", "15 characters"),
        ("27AAPFU0939F1Z-", "digits 0-9 and the letters"),
        ("", "15 characters"),
    ],
)
def test_a_wrong_gstin_is_refused_with_its_reason(gstin: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        validate_gstin(gstin)


def test_ladakh_38_is_a_gst_state() -> None:
    # python-stdnum stops at 37; Ladakh's registrations start with 38. The check character
    # is the one proven against the published numbers above.
    first14 = "38AAPFU0939F1Z"
    gstin = first14 + gstin_check_char(first14)
    assert validate_gstin(gstin) == gstin
    wrong = next(c for c in "0123456789" if c != gstin[14])
    with pytest.raises(InvalidInput, match="check character"):
        validate_gstin(first14 + wrong)


# Financial years and numbers.


@pytest.mark.parametrize(
    ("day", "fy"),
    [
        (date(2027, 3, 31), "2026-27"),
        (date(2027, 4, 1), "2027-28"),
        (date(2026, 4, 1), "2026-27"),
        (date(2026, 12, 31), "2026-27"),
        (date(2027, 1, 1), "2026-27"),
        (date(2000, 1, 1), "1999-00"),
        (date(2099, 4, 1), "2099-00"),
    ],
)
def test_the_financial_year_starts_on_1_april(day: date, fy: str) -> None:
    assert financial_year(day) == fy
    assert check_financial_year(fy) == fy


@pytest.mark.parametrize("fy", ["2026-28", "2026/27", "26-27", "2026-2027", ""])
def test_a_financial_year_is_written_one_way(fy: str) -> None:
    with pytest.raises(InvalidInput, match="financial year"):
        check_financial_year(fy)


def test_numbers_read_prefix_year_sequence_within_16_characters() -> None:
    assert invoice_number("FL", "2026-27", 1) == "FL/26-27/00001"
    assert invoice_number("fl", "2026-27", 42) == "FL/26-27/00042"
    longest = invoice_number("ABCD", "2099-00", 99_999)
    assert longest == "ABCD/99-00/99999" and len(longest) == 16
    with pytest.raises(Conflict, match=r"invoice series ABCD/26-27 is full"):
        invoice_number("ABCD", "2026-27", 100_000)


@pytest.mark.parametrize("prefix", ["", "ABCDE", "F-L", "F/L", "FL ", "ФЛ", "F L"])
def test_a_prefix_is_one_to_four_letters_or_digits(prefix: str) -> None:
    if prefix == "FL ":
        assert normalise_prefix(prefix) == "FL"  # surrounding blanks are trimmed
        return
    with pytest.raises(InvalidInput, match="1-4 letters or digits"):
        normalise_prefix(prefix)


def test_a_series_is_one_stream_per_prefix_and_year() -> None:
    assert series_id("fl", "2026-27") == series_id("FL", "2026-27")
    assert series_id("FL", "2026-27") != series_id("FL", "2027-28")
    assert series_id("FL", "2026-27") != series_id("FLX", "2026-27")


def test_a_series_allots_consecutively_and_once_per_payment() -> None:
    series = InvoiceSeries.open("fl", "2026-27", actor="system:payments")
    numbers = [series.allot(f"pay-{i}", actor="system:payments") for i in range(3)]
    assert numbers == ["FL/26-27/00001", "FL/26-27/00002", "FL/26-27/00003"]
    written = len(series.collect_events())
    assert series.allot("pay-1", actor="admin:a1") == "FL/26-27/00002"
    assert series.collect_events() == []  # asked again: the same number, nothing written
    assert written == 4  # Opened and three NumberAllotted
    assert series.number_of("pay-2") == "FL/26-27/00003" and series.number_of("x") is None
    with pytest.raises(InvalidInput):
        series.allot("  ", actor="system:payments")


def test_a_full_series_refuses_rather_than_print_a_longer_number(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("domain.invoice_numbers.MAX_SEQUENCE", 2)
    series = InvoiceSeries.open("FL", "2026-27", actor="system:payments")
    series.allot("a", actor="system:payments")
    series.allot("b", actor="system:payments")
    with pytest.raises(Conflict, match="is full"):
        series.allot("c", actor="system:payments")
    assert series.last_sequence == 2 and series.allot("a", actor="t") == "FL/26-27/00001"


# Words and figures.


@pytest.mark.parametrize(
    ("paise", "words"),
    [
        (0, "Rupees Zero Only"),
        (5, "Rupees Zero and Five Paise Only"),
        (100, "Rupees One Only"),
        (1_999, "Rupees Nineteen and Ninety Nine Paise Only"),
        (10_000, "Rupees One Hundred Only"),
        (100_100, "Rupees One Thousand One Only"),
        (
            123_456_789,
            "Rupees Twelve Lakh Thirty Four Thousand Five Hundred Sixty Seven"
            " and Eighty Nine Paise Only",
        ),
        (10_000_000, "Rupees One Lakh Only"),
        (1_000_000_000, "Rupees One Crore Only"),
        (
            12_34_56_789_00,
            "Rupees Twelve Crore Thirty Four Lakh Fifty Six Thousand Seven Hundred Eighty Nine"
            " Only",
        ),
        (10**16, "Rupees One Crore Crore Only"),
        (99_99_99_999_99 * 100 + 50, None),  # 9,999 crore and more: checked by its ends
    ],
)
def test_amounts_in_words_use_lakh_and_crore(paise: int, words: str | None) -> None:
    if words is None:
        text = amount_in_words(paise)
        assert text.startswith("Rupees Nine Thousand Nine Hundred Ninety Nine Crore")
        assert text.endswith("Ninety Nine Thousand Nine Hundred Ninety Nine and Fifty Paise Only")
        return
    assert amount_in_words(paise) == words


def test_crores_of_crores_nest() -> None:
    # 1,23,45,678 crore and 90,12,345: the crores are counted in words of their own.
    assert number_in_words(1_23_45_678_90_12_345) == (
        "One Crore Twenty Three Lakh Forty Five Thousand Six Hundred Seventy Eight Crore"
        " Ninety Lakh Twelve Thousand Three Hundred Forty Five"
    )
    with pytest.raises(ValueError):
        amount_in_words(-1)


@pytest.mark.parametrize(
    ("paise", "text"),
    [
        (0, "0.00"),
        (5, "0.05"),
        (99_999, "999.99"),
        (100_000, "1,000.00"),
        (12_345_678, "1,23,456.78"),
        (10_000_000_000, "10,00,00,000.00"),
        (-150_000, "-1,500.00"),
    ],
)
def test_figures_are_grouped_the_indian_way(paise: int, text: str) -> None:
    assert indian_grouping(paise) == text


# Lines, tax heads and totals.


def test_intra_state_tax_halves_into_cgst_and_sgst_the_odd_paisa_to_cgst() -> None:
    assert split_tax(1_801, intra_state=True) == (901, 900, 0)
    assert split_tax(1_800, intra_state=True) == (900, 900, 0)
    assert split_tax(1_801, intra_state=False) == (0, 0, 1_801)
    assert split_tax(0, intra_state=True) == (0, 0, 0)


def test_shipping_includes_its_gst_so_it_is_split_back_half_up() -> None:
    assert tax_included(11_800, Decimal(18)) == (10_000, 1_800)
    assert tax_included(12_345, Decimal(18)) == (10_462, 1_883)  # 10461.86 -> 10462
    assert tax_included(59, Decimal(18)) == (50, 9)  # 50.0 exactly
    assert tax_included(1, Decimal(18)) == (1, 0)
    assert tax_included(5_000, Decimal(0)) == (5_000, 0)


def test_a_group_invoice_in_the_sellers_state_charges_cgst_and_sgst() -> None:
    invoice = group_invoice(20, paid_paise=0)
    parts = group_parts(20)
    assert invoice.intra_state and invoice.place_of_supply == "27"
    assert len(invoice.lines) == 21 and invoice.lines[-1].description == "Shipping"
    assert invoice.orders == tuple(part.reference for part in parts)
    for line, part in zip(invoice.lines, parts, strict=False):
        assert (line.hsn, line.unit, line.quantity) == ("3926", "NOS", part.quantity)
        assert line.taxable_paise == part.taxable_paise  # the order is the authority
        assert line.cgst_paise + line.sgst_paise == part.tax_paise and line.igst_paise == 0
        assert 0 <= line.cgst_paise - line.sgst_paise <= 1
        assert line.gross_paise - line.discount_paise == line.taxable_paise
        assert line.total_paise == line.taxable_paise + line.cgst_paise + line.sgst_paise
    shipping = invoice.lines[-1]
    assert (shipping.hsn, shipping.unit, shipping.rate) == ("9968", "-", Decimal(18))
    assert shipping.taxable_paise + shipping.cgst_paise + shipping.sgst_paise == 12_345
    charged = sum(p.taxable_paise + p.tax_paise + p.shipping_paise for p in parts)
    assert invoice.total_paise == charged
    assert invoice.total_paise == invoice.taxable_paise + invoice.cgst_paise + invoice.sgst_paise
    assert invoice.igst_paise == 0
    assert invoice.amount_in_words == amount_in_words(invoice.total_paise)
    assert (invoice.due_paise, invoice.upi_link) == (invoice.total_paise, UPI)


def test_an_invoice_to_another_state_charges_igst() -> None:
    invoice = group_invoice(3, buyer=BUYER_ELSEWHERE)
    assert not invoice.intra_state and invoice.place_of_supply == "29"
    assert invoice.cgst_paise == invoice.sgst_paise == 0
    assert all(line.cgst_paise == line.sgst_paise == 0 for line in invoice.lines)
    assert invoice.total_paise == invoice.taxable_paise + invoice.igst_paise


def test_what_is_paid_leaves_what_is_due_and_the_upi_link_only_while_due() -> None:
    total = group_invoice(2).total_paise
    part_paid = group_invoice(2, paid_paise=total - 100)
    assert (part_paid.due_paise, part_paid.upi_link) == (100, UPI)
    for paid in (total, total + 500):  # an overpayment is the payment's business, not due
        settled = group_invoice(2, paid_paise=paid)
        assert (settled.due_paise, settled.upi_link) == (0, None)


def test_no_shipping_means_no_shipping_line() -> None:
    parts = [p for p in group_parts(3) if p.shipping_paise == 0]
    invoice = build_invoice("N", ISSUED, SELLER, BUYER_IN_STATE, "27", parts, CODE, 0, None)
    assert [line.description for line in invoice.lines if line.hsn == "9968"] == []


def test_an_invoice_needs_orders_and_known_states() -> None:
    parts = group_parts(1)
    with pytest.raises(InvalidInput, match="at least one order"):
        build_invoice("N", ISSUED, SELLER, BUYER_IN_STATE, "27", [], CODE, 0, None)
    with pytest.raises(InvalidInput, match="place of supply '25'"):
        build_invoice("N", ISSUED, SELLER, BUYER_IN_STATE, "25", parts, CODE, 0, None)


def test_a_part_is_read_from_the_orders_stored_price() -> None:
    price: dict[str, Any] = {
        "subtotal_paise": 100_000,
        "priority_surcharge_paise": 25_000,
        "pre_tax_total_paise": 125_000,
        "gst_pct": "18",
        "gst_paise": 22_500,
        "shipping_paise": 8_000,
        "total_paise": 155_500,
    }
    part = part_from_price("FAB-1", "cube", 2, price)  # before coupons: no discount line
    assert (part.goods_paise, part.discount_paise, part.taxable_paise) == (125_000, 0, 125_000)
    assert (part.tax_paise, part.rate, part.shipping_paise) == (22_500, Decimal(18), 8_000)
    discounted = part_from_price(
        "FAB-2", "cube", 2, {**price, "discount_paise": 5_000, "pre_tax_total_paise": 120_000}
    )
    assert (discounted.goods_paise, discounted.discount_paise) == (125_000, 5_000)
    with pytest.raises(ValueError, match="FAB-3"):
        Part("FAB-3", "x", 1, 100, 0, 99, 18, Decimal(18), 0)


def test_the_tax_code_is_the_one_in_force_on_the_invoice_date() -> None:
    later = TaxCode(date(2025, 9, 22), "3926", Decimal(18), "996812", Decimal(18))
    codes = [later, CODE]  # any order
    assert code_on(date(2025, 9, 21), codes) == CODE
    assert code_on(date(2025, 9, 22), codes) == later
    assert code_on(date(2027, 1, 1), codes) == later
    with pytest.raises(InvalidInput, match="2017-06-30"):
        code_on(date(2017, 6, 30), codes)


# The invoice settings.


def test_every_invoice_settings_default_passes_its_own_check() -> None:
    for key in (invoicing.SELLER_SETTING, invoicing.PREFIX_SETTING, invoicing.TAX_CODES_SETTING):
        spec = spec_of(key)
        assert spec.check(key, spec.default) == spec.default
    seller = invoicing.seller_party(spec_of(invoicing.SELLER_SETTING).default)
    assert seller.gstin is None and seller.state_code == "27" and "set" in seller.name
    assert invoicing.tax_codes(spec_of(invoicing.TAX_CODES_SETTING).default) == (CODE,)


def test_the_seller_setting_is_checked_and_normalised() -> None:
    key = invoicing.SELLER_SETTING
    stored = invoicing.seller(
        key,
        {
            "legal_name": "  Fab  Works Private Limited ",
            "address": "Unit 4, Marol\r\n\r\n  Mumbai 400059  \n",
            "state_code": "27",
            "gstin": " 27aapfu0939f1zv",
        },
    )
    assert stored == {
        "legal_name": "Fab Works Private Limited",
        "address": "Unit 4, Marol\nMumbai 400059",
        "state_code": "27",
        "gstin": "27AAPFU0939F1ZV",
    }
    party = invoicing.seller_party(stored)
    assert party.address_lines == ("Unit 4, Marol", "Mumbai 400059")
    blank = {**stored, "gstin": ""}
    assert invoicing.seller(key, blank)["gstin"] is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"gstin": "29AAGCB7383J1Z4"}, "invoice_seller: gstin: starts with state code 29"),
        ({"gstin": "27AAPFU0939F1ZW"}, "invoice_seller: gstin: GSTIN check character"),
        ({"state_code": "25"}, "invoice_seller: state_code"),
        ({"state_code": 27}, "invoice_seller: state_code"),
        ({"legal_name": ""}, "invoice_seller: legal_name"),
        ({"address": "\n \n"}, "invoice_seller: address: 1 to 6 lines"),
        ({"address": "\n".join("abcdefg")}, "invoice_seller: address: 1 to 6 lines"),
        ({"vat": "x"}, "invoice_seller: vat: unknown field"),
    ],
)
def test_a_wrong_seller_names_the_key_and_field(change: dict[str, Any], message: str) -> None:
    value = {"legal_name": "Fab", "address": "Mumbai", "state_code": "27", "gstin": None}
    with pytest.raises(InvalidInput, match=message):
        invoicing.seller(invoicing.SELLER_SETTING, {**value, **change})


def test_the_prefix_setting_is_upper_cased() -> None:
    assert invoicing.prefix(invoicing.PREFIX_SETTING, " fab1") == "FAB1"
    with pytest.raises(InvalidInput, match="invoice_prefix: must be 1-4 letters or digits"):
        invoicing.prefix(invoicing.PREFIX_SETTING, "FAB/1")


def test_tax_codes_are_stored_sorted_with_rates_as_decimal_strings() -> None:
    key = invoicing.TAX_CODES_SETTING
    entry = {
        "valid_from": "2025-09-22",
        "goods_hsn": "39269099",
        "goods_rate": 18.0,
        "shipping_sac": "996812",
        "shipping_rate": "18.00",
    }
    stored = invoicing.tax_code_list(key, [entry, invoicing.DEFAULT_TAX_CODES[0]])
    assert [e["valid_from"] for e in stored] == ["2017-07-01", "2025-09-22"]
    assert stored[1]["goods_rate"] == "18" and stored[1]["shipping_rate"] == "18"
    assert code_on(date(2026, 1, 1), invoicing.tax_codes(stored)).goods_hsn == "39269099"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"goods_hsn": "392"}, "goods_hsn: must be 4, 6 or 8 digits"),
        ({"goods_hsn": 3926}, "goods_hsn"),
        ({"shipping_sac": "4968"}, "shipping_sac: must be 4 or 6 digits starting 99"),
        ({"goods_rate": "eighteen"}, "goods_rate: must be a percent"),
        ({"goods_rate": "101"}, "goods_rate: a percent from 0 to 100"),
        ({"shipping_rate": "0.125"}, "shipping_rate: .* at most 2 decimals"),
        ({"valid_from": "22/09/2025"}, "valid_from: must be a date"),
        ({"valid_from": "2025-02-30"}, "valid_from: must be a date"),
    ],
)
def test_a_wrong_tax_code_names_the_key_and_field(change: dict[str, Any], message: str) -> None:
    entry = {**invoicing.DEFAULT_TAX_CODES[0], **change}
    with pytest.raises(InvalidInput, match=f"invoice_tax_codes: {message}"):
        invoicing.tax_code_list(invoicing.TAX_CODES_SETTING, [entry])


def test_tax_codes_need_one_entry_per_date() -> None:
    key = invoicing.TAX_CODES_SETTING
    with pytest.raises(InvalidInput, match="2017-07-01 appears twice"):
        invoicing.tax_code_list(key, invoicing.DEFAULT_TAX_CODES * 2)
    with pytest.raises(InvalidInput, match="must be a list of 1 to"):
        invoicing.tax_code_list(key, [])
    with pytest.raises(InvalidInput, match="shipping_rate: missing"):
        entry = dict(invoicing.DEFAULT_TAX_CODES[0])
        del entry["shipping_rate"]
        invoicing.tax_code_list(key, [entry])
