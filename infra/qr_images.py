"""QR codes with segno: UPI payment links as PNG and SVG (the QrImages port) and the 2FA
enrolment code as a PNG data URI (QrCodes). One wrapper, one look for every code we show."""

from __future__ import annotations

import base64
import io

import segno

# Medium error correction (15 % of the code may be smudged) and 8 px modules with the
# 4-module quiet zone the QR standard requires: phone cameras read it off a screen or a
# printed invoice alike.
ERROR = "m"
SCALE = 8
BORDER = 4


class SegnoQrImages:
    """QR codes of text: PNG bytes, an SVG document, or a PNG data URI."""

    def _code(self, text: str) -> segno.QRCode:
        # make_qr, not make: segno would pick a Micro QR for short text, which UPI and
        # authenticator apps do not read; no boosting, so the level is what we say.
        return segno.make_qr(text, error=ERROR, boost_error=False)

    def png(self, text: str) -> bytes:
        """The QR code as PNG bytes."""
        out = io.BytesIO()
        self._code(text).save(out, kind="png", scale=SCALE, border=BORDER)
        return out.getvalue()

    def svg(self, text: str) -> str:
        """The QR code as a standalone SVG document (one path, no XML declaration)."""
        out = io.BytesIO()
        self._code(text).save(out, kind="svg", scale=SCALE, border=BORDER, xmldecl=False, nl=False)
        return out.getvalue().decode("utf-8")

    def png_data_uri(self, text: str) -> str:
        """data:image/png;base64,... of the QR code of this text."""
        return "data:image/png;base64," + base64.b64encode(self.png(text)).decode("ascii")
