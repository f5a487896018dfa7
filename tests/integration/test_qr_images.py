"""Story: the QR codes a payer scans: a UPI link as a PNG (for the page and the invoice) and
as an SVG, both a plain QR code at medium error correction with its quiet zone, and the
2FA enrolment code from the same wrapper. No QR decoder is available offline, so the PNG's
modules are compared with the code segno computes for the same text."""

from __future__ import annotations

import base64
import io
import struct
import xml.etree.ElementTree as ET

import segno
from PIL import Image

from domain.upi import upi_link
from infra.qr_images import BORDER, SCALE, SegnoQrImages

SVG = "{http://www.w3.org/2000/svg}"
LINK = upi_link(
    vpa="fabledger@okicici",
    payee_name="fabledger",
    amount_paise=123456,
    reference="FL2026000123",
    note="Order FL-123",
)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_a_upi_link_is_a_png_qr_code_with_its_quiet_zone() -> None:
    png = SegnoQrImages().png(LINK)

    code = segno.make_qr(LINK, error="m", boost_error=False)
    side = (code.symbol_size(scale=1, border=0)[0] + 2 * BORDER) * SCALE
    assert png_size(png) == (side, side)
    assert code.error == "M" and not code.is_micro and len(png) < 10_000

    image = Image.open(io.BytesIO(png)).convert("L")
    for row, modules in enumerate(code.matrix):
        for column, dark in enumerate(modules):
            centre = ((column + BORDER) * SCALE + SCALE // 2, (row + BORDER) * SCALE + SCALE // 2)
            assert (image.getpixel(centre) == 0) == bool(dark), (row, column)
    assert image.getpixel((1, 1)) == 255  # the quiet zone is white


def test_short_text_is_still_a_full_qr_code_not_a_micro_one() -> None:
    assert png_size(SegnoQrImages().png("a")) == ((21 + 2 * BORDER) * SCALE,) * 2  # version 1


def test_the_svg_is_a_standalone_document_drawing_the_code_as_a_path() -> None:
    svg = SegnoQrImages().svg(LINK)

    assert not svg.startswith("<?xml")  # embeddable in a page as it is
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    side = (segno.make_qr(LINK, error="m").symbol_size(scale=1, border=0)[0] + 2 * BORDER) * SCALE
    assert (root.get("width"), root.get("height")) == (str(side), str(side))
    paths = root.findall(f".//{SVG}path")
    assert len(paths) == 1 and len(paths[0].get("d") or "") > 100


def test_the_2fa_data_uri_is_the_same_png() -> None:
    qr = SegnoQrImages()
    text = "otpauth://totp/fabledger:a?secret=ABC&issuer=fabledger"
    head, _, data = qr.png_data_uri(text).partition(",")
    assert head == "data:image/png;base64"
    assert base64.b64decode(data) == qr.png(text)
