"""TOTP codes with pyotp (the TotpCodes port); the enrolment QR code is infra/qr_images.py."""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp

ISSUER = "fabledger"


class PyotpCodes:
    """RFC 6238 codes: 30-second steps, 6 digits, SHA-1 (what authenticator apps expect)."""

    issuer = ISSUER

    def new_secret(self) -> str:
        """A random base32 secret of 160 bits (32 characters)."""
        return pyotp.random_base32()

    def provisioning_uri(self, secret: str, account: str) -> str:
        """otpauth://totp/fabledger:<account>?secret=...&issuer=fabledger."""
        return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=self.issuer)

    def matching_step(self, secret: str, code: str, now: datetime) -> int | None:
        """The step among now's and its neighbours (clock drift) whose code this is.

        Every candidate is compared, in constant time, so the time taken does not say which
        step matched; the newest matching step wins (a code repeating across steps is a
        one-in-a-million chance, and the newer step is the one to use up).
        """
        totp = pyotp.TOTP(secret)
        current = totp.timecode(now)
        given, found = code.encode(), None  # bytes: compare_digest refuses non-ASCII text
        for step in (current - 1, current, current + 1):
            if hmac.compare_digest(totp.generate_otp(step).encode(), given):
                found = step
        return found
