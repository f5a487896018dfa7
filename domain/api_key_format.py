"""The API key format: a prefix, a public key id, a secret and a checksum.

Single-string form: ``dm_live_<key id: 12 hex><secret: 40 hex><checksum: 8 hex>``.
Pair form: client id ``dmc_<key id>`` and secret ``<secret><checksum>``.
The checksum (CRC-32 of key id + secret) lets a typo or a made-up key be refused
without a database lookup; it protects nothing: the secret's 160 random bits do.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

PREFIX = "dm_live_"
CLIENT_ID_PREFIX = "dmc_"
KEY_ID_HEX = 12
SECRET_HEX = 40
CHECKSUM_HEX = 8
_HEX = re.compile(r"^[0-9a-f]+$")


class MalformedKey(ValueError):
    """Not shaped like one of our keys (wrong prefix, length or characters)."""


class ChecksumMismatch(ValueError):
    """Shaped like a key but the checksum is wrong: it cannot be one we issued."""


@dataclass(frozen=True)
class PresentedKey:
    """A key split into its parts, checksum verified."""

    key_id: str
    secret: str

    @property
    def client_id(self) -> str:
        """The public identifier of the key (x-metal-client-id)."""
        return CLIENT_ID_PREFIX + self.key_id


def checksum(key_id: str, secret: str) -> str:
    """CRC-32 of the key id and secret as 8 hex digits."""
    return f"{zlib.crc32((key_id + secret).encode()):08x}"


def format_key(key_id: str, secret: str) -> str:
    """The single-string form of a key."""
    return PREFIX + key_id + secret + checksum(key_id, secret)


def pair_secret(key_id: str, secret: str) -> str:
    """The secret half of the pair form (x-metal-api-key)."""
    return secret + checksum(key_id, secret)


def parse_key(raw: str) -> PresentedKey:
    """Split a single-string key, refusing malformed ones and bad checksums."""
    if not raw.startswith(PREFIX):
        raise MalformedKey("missing prefix")
    return _checked(raw[len(PREFIX) : len(PREFIX) + KEY_ID_HEX], raw[len(PREFIX) + KEY_ID_HEX :])


def parse_pair(client_id: str, secret_with_checksum: str) -> PresentedKey:
    """Split the pair form, with the same checks as the single string."""
    if not client_id.startswith(CLIENT_ID_PREFIX):
        raise MalformedKey("missing client id prefix")
    return _checked(client_id[len(CLIENT_ID_PREFIX) :], secret_with_checksum)


def _checked(key_id: str, tail: str) -> PresentedKey:
    if len(key_id) != KEY_ID_HEX or len(tail) != SECRET_HEX + CHECKSUM_HEX:
        raise MalformedKey("wrong length")
    if not _HEX.match(key_id) or not _HEX.match(tail):
        raise MalformedKey("not lower-case hex")
    secret, check = tail[:SECRET_HEX], tail[SECRET_HEX:]
    if checksum(key_id, secret) != check:
        raise ChecksumMismatch("checksum does not match")
    return PresentedKey(key_id=key_id, secret=secret)
