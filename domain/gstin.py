"""GSTIN: the 15-character GST identification number, its shape and its check character.

Layout: 2-digit state code (domain.india_states), the holder's 10-character PAN
(5 letters, 4 digits, 1 letter), an entity character (1-9 or A-Z: the holder's nth
registration in that state), the letter Z, and a check character. The check is a mod-36
Luhn over 0-9A-Z: factors alternate 1, 2 from the left; each product adds its quotient and
remainder by 36; check = alphabet[(36 - total % 36) % 36]. The state table is ours, not
python-stdnum's, which stops at 37 and rejects Ladakh (38).
"""

from __future__ import annotations

import re

from domain.errors import InvalidInput
from domain.india_states import BY_CODE

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LENGTH = 15
_PAN = re.compile(r"[A-Z]{5}[0-9]{4}[A-Z]")
_ENTITY = re.compile(r"[1-9A-Z]")


def gstin_check_char(first14: str) -> str:
    """The check character of a GSTIN's first 14 characters (upper-case 0-9A-Z)."""
    if len(first14) != LENGTH - 1 or any(c not in ALPHABET for c in first14):
        raise ValueError(f"need 14 characters of 0-9A-Z, got {first14!r}")
    total = 0
    for position, char in enumerate(first14):
        product = ALPHABET.index(char) * (1 if position % 2 == 0 else 2)
        total += product // 36 + product % 36
    return ALPHABET[(36 - total % 36) % 36]


def validate_gstin(text: str) -> str:
    """The GSTIN trimmed and upper-cased; InvalidInput naming the first thing wrong with it."""
    if not isinstance(text, str):
        raise InvalidInput("GSTIN must be text")
    gstin = text.strip().upper()
    if len(gstin) != LENGTH:
        raise InvalidInput(f"GSTIN must be {LENGTH} characters, got {len(gstin)}")
    if any(c not in ALPHABET for c in gstin):
        raise InvalidInput("GSTIN holds only the digits 0-9 and the letters A-Z")
    state, pan, entity, fixed, check = gstin[:2], gstin[2:12], gstin[12], gstin[13], gstin[14]
    if state not in BY_CODE:
        raise InvalidInput(f"GSTIN starts with the state code '{state}', which is not a GST state")
    if not _PAN.fullmatch(pan):
        raise InvalidInput(
            f"GSTIN characters 3-12 must be a PAN (5 letters, 4 digits, 1 letter), got '{pan}'"
        )
    if not _ENTITY.fullmatch(entity):
        raise InvalidInput("GSTIN character 13 (the registration number) must be 1-9 or A-Z")
    if fixed != "Z":
        raise InvalidInput("GSTIN character 14 must be 'Z'")
    expected = gstin_check_char(gstin[:14])
    if check != expected:
        raise InvalidInput("GSTIN check character is wrong (a typo?)")
    return gstin
