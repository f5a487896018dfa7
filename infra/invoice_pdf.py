"""GST tax invoices as PDF, drawn with reportlab's Platypus from a domain.invoices.Invoice.

The same Invoice always renders the same bytes: reportlab's invariant mode fixes the
document id, and the embedded creation date is the invoice date, not the clock. The
built-in Helvetica has no rupee sign, so amounts read "Rs." / INR.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from domain.india_states import BY_CODE
from domain.invoices import Invoice, Party, indian_grouping
from domain.money import decimal_text

MARGIN = 15 * mm
QR_SIZE = 32 * mm
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SMALL_WORDS = {"And", "Of", "The"}
_GRID = colors.Color(0.6, 0.6, 0.6)
_SHADE = colors.Color(0.92, 0.92, 0.92)

_BASE = ParagraphStyle("invoice", fontName="Helvetica", fontSize=8, leading=10)
_BOLD = ParagraphStyle("invoice-bold", parent=_BASE, fontName="Helvetica-Bold")
_TITLE = ParagraphStyle("invoice-title", parent=_BOLD, fontSize=16, leading=20, alignment=TA_CENTER)
_CELL = ParagraphStyle("invoice-cell", parent=_BASE, fontSize=7, leading=8.5)
_HEAD = ParagraphStyle("invoice-head", parent=_CELL, fontName="Helvetica-Bold")
_HEAD_RIGHT = ParagraphStyle("invoice-head-right", parent=_HEAD, alignment=TA_RIGHT)
_SMALL = ParagraphStyle("invoice-small", parent=_BASE, fontSize=7, leading=9)


def day_text(day: date) -> str:
    """15 Apr 2026: unambiguous, and independent of the process locale."""
    return f"{day.day:02d} {MONTHS[day.month - 1]} {day.year}"


def state_text(code: str | None) -> str:
    """ "Maharashtra (27)" for a GST state code; the code alone when unknown."""
    state = BY_CODE.get(code or "")
    if state is None:
        return code or "not stated"
    words = [word.capitalize() for word in state.name.split()]
    name = " ".join(
        word.lower() if i and word in _SMALL_WORDS else word for i, word in enumerate(words)
    )
    return f"{name} ({state.code})"


def money(paise: int) -> str:
    """Rupees as printed: Indian digit grouping, two decimals."""
    return indian_grouping(paise)


def _p(text: str, style: ParagraphStyle = _BASE) -> Paragraph:
    return Paragraph(text, style)


def _party_block(title: str, party: Party, *, seller: bool) -> list[Flowable]:
    lines = [_p(escape(title), _SMALL), _p(escape(party.name), _BOLD)]
    lines += [_p(escape(line)) for line in party.address_lines]
    if party.state_code is not None or seller:
        lines.append(_p(f"State: {escape(state_text(party.state_code))}"))
    lines.append(_p(f"GSTIN: {escape(party.gstin or 'not registered')}"))
    return lines


def _header(invoice: Invoice) -> Table:
    facts = [
        _p(f"Invoice no.: <b>{escape(invoice.number)}</b>"),
        _p(f"Invoice date: {day_text(invoice.issued_on)}"),
        _p(f"Place of supply: {escape(state_text(invoice.place_of_supply))}"),
        _p(f"Reverse charge: {'Yes' if invoice.reverse_charge else 'No'}"),
        # Each goods line names its order; a group's 20 references would crowd the header.
        _p(f"Orders: {len(invoice.orders)}" if len(invoice.orders) > 1 else ""),
    ]
    width = A4[0] - 2 * MARGIN
    table = Table(
        [
            [_party_block("Seller", invoice.seller, seller=True), facts],
            [_party_block("Bill to", invoice.buyer, seller=False), ""],
        ],
        colWidths=[width * 0.55, width * 0.45],
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BOX", (0, 0), (-1, -1), 0.5, _GRID),
                ("LINEBELOW", (0, 0), (0, 0), 0.5, _GRID),
                ("LINEBEFORE", (1, 0), (1, -1), 0.5, _GRID),
                ("SPAN", (1, 0), (1, 1)),
            ]
        )
    )
    return table


def _tax_heads(invoice: Invoice) -> list[tuple[str, str]]:
    """(column title, InvoiceLine field) of the tax heads this invoice uses."""
    if invoice.intra_state:
        return [("CGST", "cgst_paise"), ("SGST", "sgst_paise")]
    return [("IGST", "igst_paise")]


def _lines_table(invoice: Invoice) -> Table:
    heads = _tax_heads(invoice)
    titles = ["#", "Description", "HSN/SAC", "Qty", "Gross", "Discount", "Taxable value"]
    titles += ["Rate", *(title for title, _ in heads), "Total"]
    right = {0, 3, 4, 5, 6, 7, *range(8, 8 + len(heads)), 8 + len(heads)}
    header = [_p(t, _HEAD_RIGHT if i in right else _HEAD) for i, t in enumerate(titles)]
    rows: list[list[Any]] = [header]
    for number, line in enumerate(invoice.lines, start=1):
        rate = decimal_text(line.rate)
        rows.append(
            [
                str(number),
                _p(escape(line.description), _CELL),
                line.hsn,
                f"{line.quantity} {line.unit}" if line.unit != "-" else "-",
                money(line.gross_paise),
                money(line.discount_paise),
                money(line.taxable_paise),
                f"{rate}%",
                *(money(getattr(line, field)) for _, field in heads),
                money(line.total_paise),
            ]
        )
    rows.append(
        [
            "",
            _p("<b>Total</b>", _CELL),
            "",
            "",
            money(sum(line.gross_paise for line in invoice.lines)),
            money(sum(line.discount_paise for line in invoice.lines)),
            money(invoice.taxable_paise),
            "",
            *(money(getattr(invoice, field)) for _, field in heads),
            money(invoice.total_paise),
        ]
    )
    amount = 50.0 if invoice.intra_state else 56.0
    fixed = [14, 0, 36, 30, amount, 44, amount, 24, *([amount] * len(heads)), 56.0]
    fixed[1] = A4[0] - 2 * MARGIN - sum(fixed)
    table = Table(rows, colWidths=fixed, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), "Helvetica", 7),
                ("FONT", (0, -1), (-1, -1), "Helvetica-Bold", 7),
                ("GRID", (0, 0), (-1, -1), 0.4, _GRID),
                ("BACKGROUND", (0, 0), (-1, 0), _SHADE),
                ("BACKGROUND", (0, -1), (-1, -1), _SHADE),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                *(("ALIGN", (col, 1), (col, -1), "RIGHT") for col in sorted(right)),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
                ("RIGHTPADDING", (0, 0), (-1, -1), 2),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def _totals(invoice: Invoice) -> Table:
    rows = [["Taxable value", money(invoice.taxable_paise)]]
    rows += [[title, money(getattr(invoice, field))] for title, field in _tax_heads(invoice)]
    rows += [
        ["Invoice total (INR)", money(invoice.total_paise)],
        ["Paid", money(invoice.paid_paise)],
        ["Amount due", money(invoice.due_paise)],
    ]
    table = Table(rows, colWidths=[40 * mm, 32 * mm], hAlign="RIGHT")
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), "Helvetica", 8),
                ("FONT", (0, -3), (-1, -3), "Helvetica-Bold", 8),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                ("LINEABOVE", (0, -3), (-1, -3), 0.5, colors.black),
                ("LINEABOVE", (0, -2), (-1, -2), 0.4, _GRID),
            ]
        )
    )
    return table


def _upi_block(invoice: Invoice) -> Table:
    # Level M, as the UPI QR images (infra.qr_images): 15 % of a printed code may smudge.
    widget = QrCodeWidget(invoice.upi_link, barLevel="M", barWidth=QR_SIZE, barHeight=QR_SIZE)
    drawing = Drawing(QR_SIZE, QR_SIZE)
    drawing.add(widget)
    text = [
        _p("<b>Scan to pay with any UPI app</b>"),
        _p(f"Amount due: Rs. {money(invoice.due_paise)}"),
        _p(f"Reference: invoice {escape(invoice.number)}", _SMALL),
    ]
    table = Table([[drawing, text]], colWidths=[QR_SIZE + 4 * mm, 90 * mm], hAlign="LEFT")
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE")]))
    return table


def _story(invoice: Invoice) -> list[Flowable]:
    closing: list[Flowable] = [
        _totals(invoice),
        Spacer(0, 3 * mm),
        _p(f"Amount in words: <b>{escape(invoice.amount_in_words)}</b>"),
    ]
    if invoice.due_paise > 0 and invoice.upi_link:
        closing += [Spacer(0, 4 * mm), _upi_block(invoice)]
    closing += [
        Spacer(0, 6 * mm),
        _p(f"For {escape(invoice.seller.name)}"),
        Spacer(0, 8 * mm),
        _p("Authorised signatory", _SMALL),
        Spacer(0, 3 * mm),
        _p("This is a computer-generated invoice.", _SMALL),
    ]
    return [
        _p("TAX INVOICE", _TITLE),
        Spacer(0, 3 * mm),
        _header(invoice),
        Spacer(0, 4 * mm),
        _p("Amounts in INR (Rs.)", _SMALL),
        _lines_table(invoice),
        Spacer(0, 3 * mm),
        # Totals, words, QR and signature stay together: a page never starts mid-summary.
        KeepTogether(closing),
    ]


def render_invoice(invoice: Invoice) -> bytes:
    """The invoice as an A4 PDF; the same Invoice gives the same bytes."""
    out = io.BytesIO()
    created = invoice.issued_on.strftime("D:%Y%m%d000000+05'30'")  # midnight IST

    def stamp(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        # The embedded date is the invoice's, so re-downloading gives identical bytes.
        canvas.setDateFormatter(lambda *_: created)
        canvas.setFont("Helvetica", 7)
        canvas.drawRightString(
            A4[0] - MARGIN, MARGIN / 2, f"{invoice.number} - page {canvas.getPageNumber()}"
        )

    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
        invariant=1,
        title=f"Tax invoice {invoice.number}",
        author=invoice.seller.name,
        subject=f"GST tax invoice {invoice.number} of {day_text(invoice.issued_on)}",
        creator="fabledger",
    )
    doc.build(_story(invoice), onFirstPage=stamp, onLaterPages=stamp)
    return out.getvalue()
