"""The personal access token format: ``pf_`` + a public id, a secret and a checksum.

``pf_<public id: 12 base62><secret: 32 base62><checksum: 6 base62>`` (53 characters).
The checksum (CRC-32 of public id + secret, in base62) lets a typo or a made-up token be
refused without a lookup; it protects nothing: the secret's ~190 random bits do. The
public id names the token's stream (it is not secret); only the secret's hash is stored.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

PREFIX = "pf_"
PUBLIC_ID_CHARS = 12
SECRET_CHARS = 32
CHECKSUM_CHARS = 6  # 62**6 > 2**32: every CRC-32 fits
LENGTH = len(PREFIX) + PUBLIC_ID_CHARS + SECRET_CHARS + CHECKSUM_CHARS
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE62_BODY = re.compile(r"[0-9A-Za-z]+")


class MalformedToken(ValueError):
    """Not shaped like one of our tokens (prefix, length or characters)."""


class TokenChecksumMismatch(ValueError):
    """Shaped like a token but the checksum is wrong: it cannot be one we issued."""


@dataclass(frozen=True)
class PresentedToken:
    """A token split into its parts, checksum verified."""

    public_id: str
    secret: str


def to_base62(number: int, width: int) -> str:
    """`number` in base62, left-padded with zeros to `width` characters."""
    digits = []
    while number:
        number, digit = divmod(number, 62)
        digits.append(BASE62[digit])
    return "".join(reversed(digits)).rjust(width, BASE62[0])


def checksum(public_id: str, secret: str) -> str:
    """CRC-32 of the public id and secret as 6 base62 characters."""
    return to_base62(zlib.crc32((public_id + secret).encode()), CHECKSUM_CHARS)


def format_token(public_id: str, secret: str) -> str:
    """The token as shown (once) to the admin who created it."""
    return PREFIX + public_id + secret + checksum(public_id, secret)


def looks_like_token(raw: str) -> bool:
    """Whether a bearer credential claims to be a PAT (JWTs never start with pf_)."""
    return raw.startswith(PREFIX)


def parse_token(raw: str) -> PresentedToken:
    """Split a presented token, refusing malformed ones and bad checksums."""
    if not raw.startswith(PREFIX):
        raise MalformedToken("missing pf_ prefix")
    if len(raw) != LENGTH:
        raise MalformedToken("wrong length")
    body = raw[len(PREFIX) :]
    if not _BASE62_BODY.fullmatch(body):
        raise MalformedToken("not base62")
    public_id = body[:PUBLIC_ID_CHARS]
    secret = body[PUBLIC_ID_CHARS : PUBLIC_ID_CHARS + SECRET_CHARS]
    if checksum(public_id, secret) != body[PUBLIC_ID_CHARS + SECRET_CHARS :]:
        raise TokenChecksumMismatch("checksum does not match")
    return PresentedToken(public_id=public_id, secret=secret)
