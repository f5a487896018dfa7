"""Story: a customer downloads the tax invoice of a 20-order group and reads it as a person
would: every field Rule 46 asks for is there, and the figures add up to the paisa.

The text comes out of the PDF with pypdf; page 1 is rendered to PNG with pdftoppm (Debian
poppler-utils) to show that a real renderer draws it.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from domain.invoices import Invoice, amount_in_words, indian_grouping
from infra.invoice_pdf import render_invoice
from tests.conftest import missing_component
from tests.support.invoices import BUYER_ELSEWHERE, SELLER, group_invoice

ROOT = Path(__file__).resolve().parents[2]
AMOUNT = r"(-?[\d,]+\.\d\d)"
# A goods row from Qty to Total: qty, unit, gross, discount, taxable, rate, tax head(s), total.
GOODS_INTRA = re.compile(
    rf"(\d+) NOS\s+{AMOUNT}\s+{AMOUNT}\s+{AMOUNT}\s+(\d+)%\s+{AMOUNT}\s+{AMOUNT}\s+{AMOUNT}"
)
GOODS_INTER = re.compile(
    rf"(\d+) NOS\s+{AMOUNT}\s+{AMOUNT}\s+{AMOUNT}\s+(\d+)%\s+{AMOUNT}\s+{AMOUNT}"
)


def paise(text: str) -> int:
    """Printed rupees ("1,23,456.78") as paise."""
    rupees, _, decimals = text.replace(",", "").partition(".")
    return int(rupees) * 100 + (int(decimals) if not rupees.startswith("-") else -int(decimals))


def text_of(pdf: bytes) -> str:
    """Every page's text, as pypdf extracts it, whitespace collapsed."""
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def total_after(text: str, label: str) -> int:
    """The amount printed right after a label in the totals block."""
    match = re.search(rf"{re.escape(label)} {AMOUNT}", text)
    assert match is not None, f"no amount after {label!r}"
    return paise(match[1])


@pytest.fixture(scope="module")
def group() -> Invoice:
    return group_invoice(20, paid_paise=20_000_00)


@pytest.fixture(scope="module")
def group_text(group: Invoice) -> str:
    return text_of(render_invoice(group))


def test_every_field_a_tax_invoice_needs_is_printed(group: Invoice, group_text: str) -> None:
    text = group_text
    assert "TAX INVOICE" in text
    for line in (SELLER.name, *SELLER.address_lines, f"GSTIN: {SELLER.gstin}"):
        assert line in text, line
    assert "State: Maharashtra (27)" in text
    assert f"Invoice no.: {group.number}" in text and len(group.number) <= 16
    assert "Invoice date: 15 Apr 2026" in text
    for line in (group.buyer.name, *group.buyer.address_lines):
        assert line in text, line
    assert "GSTIN: not registered" in text  # the buyer is a consumer
    assert "Place of supply: Maharashtra (27)" in text
    assert "Reverse charge: No" in text
    assert text.count("3926") == 20 and "9968" in text  # HSN per goods line, SAC for shipping
    for title in ("HSN/SAC", "Qty", "Gross", "Discount", "Taxable value", "Rate", "CGST", "SGST"):
        assert title in text, title
    assert "IGST" not in text
    for reference in group.orders:
        assert reference in text, reference  # a group invoice lists every part
    assert f"Amount in words: {group.amount_in_words}" in text
    assert "Scan to pay with any UPI app" in text and "Authorised signatory" in text


def test_the_printed_figures_add_up_to_the_paisa(group: Invoice, group_text: str) -> None:
    text = group_text
    rows = GOODS_INTRA.findall(text)
    assert len(rows) == 20
    lines = [[paise(amount) for amount in row[1:4] + row[5:]] for row in rows]
    for gross, discount, taxable, cgst, sgst, total in lines:
        assert gross - discount == taxable
        assert taxable + cgst + sgst == total
        assert 0 <= cgst - sgst <= 1  # 9 % + 9 %: halves, the odd paisa on CGST
        assert abs(cgst + sgst - taxable * 18 / 100) <= 0.5  # 18 %, rounded once
    shipping = re.search(
        rf"Shipping 9968 - {AMOUNT} {AMOUNT} {AMOUNT} 18% {AMOUNT} {AMOUNT} {AMOUNT}", text
    )
    assert shipping is not None
    s_taxable, s_cgst, s_sgst, s_total = (paise(shipping[i]) for i in (3, 4, 5, 6))
    assert s_taxable + s_cgst + s_sgst == s_total == 12_345  # the carrier's price, GST included

    taxable = total_after(text, "Taxable value")
    cgst, sgst = total_after(text, "CGST"), total_after(text, "SGST")
    total = total_after(text, "Invoice total (INR)")
    assert taxable + cgst + sgst == total
    assert taxable == sum(line[2] for line in lines) + s_taxable
    assert cgst == sum(line[3] for line in lines) + s_cgst
    assert total == sum(line[5] for line in lines) + s_total == group.total_paise
    paid, due = total_after(text, "Paid"), total_after(text, "Amount due")
    assert (paid, due) == (20_000_00, total - paid)
    assert amount_in_words(total) in text
    assert f"Amount due: Rs. {indian_grouping(due)}" in text  # beside the UPI QR


def test_an_invoice_to_another_state_charges_igst_and_a_paid_one_has_no_qr() -> None:
    invoice = group_invoice(3, buyer=BUYER_ELSEWHERE, paid_paise=10**9)
    text = text_of(render_invoice(invoice))
    assert "Place of supply: Karnataka (29)" in text
    assert f"GSTIN: {BUYER_ELSEWHERE.gstin}" in text
    assert "CGST" not in text and "SGST" not in text
    rows = GOODS_INTER.findall(text)
    assert len(rows) == 3
    for row in rows:
        gross, discount, taxable, igst, total = (paise(a) for a in (*row[1:4], *row[5:]))
        assert gross - discount == taxable and taxable + igst == total
    taxable, igst = total_after(text, "Taxable value"), total_after(text, "IGST")
    assert taxable + igst == total_after(text, "Invoice total (INR)") == invoice.total_paise
    assert total_after(text, "Amount due") == 0
    assert "Scan to pay" not in text


def test_the_same_invoice_renders_the_same_bytes_in_any_process(group: Invoice) -> None:
    first = render_invoice(group)
    assert render_invoice(group) == first
    reader = PdfReader(io.BytesIO(first))
    assert reader.metadata is not None
    assert reader.metadata["/CreationDate"] == "D:20260415000000+05'30'"  # the invoice date
    script = (
        "import sys\n"
        "from infra.invoice_pdf import render_invoice\n"
        "from tests.support.invoices import group_invoice\n"
        "sys.stdout.buffer.write(render_invoice(group_invoice(20, paid_paise=20_000_00)))\n"
    )
    env = {**os.environ, "TZ": "America/Los_Angeles", "PYTHONHASHSEED": "7"}
    other = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, check=True
    )
    assert other.stdout == first


def test_page_one_renders_to_a_png(group: Invoice, tmp_path: Path) -> None:
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        missing_component("pdftoppm not found (apt-get install poppler-utils)")
    pdf = tmp_path / "invoice.pdf"
    pdf.write_bytes(render_invoice(group))
    subprocess.run(
        [
            pdftoppm,
            "-png",
            "-r",
            "50",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(pdf),
            str(tmp_path / "page"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    png = (tmp_path / "page.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(png)) as image:
        width, height = image.size
        assert abs(width - 413) <= 1 and abs(height - 585) <= 1  # A4 at 50 dpi
        shades = image.convert("L").histogram()  # pixels per grey level, 0 black .. 255 white
    pixels = width * height
    assert shades[255] > 0.5 * pixels  # white paper ...
    # ... with print on it (small type at 50 dpi is mostly grey anti-aliasing): not blank.
    assert shades[0] > 0 and sum(shades[:128]) > 0.005 * pixels
