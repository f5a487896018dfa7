"""Pure rules of TOTP two-factor authentication: codes, recovery codes, backoff, shop policy.

Recovery codes: 10 per enrolment, each 80 random bits written as 16 Crockford base32
characters in four groups (`k3m9-x2qa-7dfp-0wzn`). Only the SHA-256 of the normalised code
is stored; 80 bits make an offline search of that hash hopeless, so a fast hash is enough
(argon2 would cost ~50 ms per stored code on every attempt, ten per attempt).

Backoff: the first FREE_FAILURES wrong codes in a row cost nothing; from the fifth on, each
wrong code locks the second step for BASE_DELAY * 2**(failures - FREE_FAILURES) seconds
after it, at most MAX_DELAY: 30 s, 60 s, 2 min, 4 min, 8 min, 16 min, 32 min, then 1 h for
every further failure. A success (a code or a recovery code) starts the count afresh.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from domain.shop.settings import TWO_FACTOR_REQUIRED, TWO_FACTOR_REQUIRED_STAFF

RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_BYTES = 10  # 80 bits: 16 base32 characters
_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"  # no i, l, o, u: nothing to misread
_RECOVERY = re.compile(r"[0-9a-hjkmnp-tv-z]{16}")
TOTP_CODE = re.compile(r"[0-9]{6}")  # fullmatch it
TOTP_SECRET = re.compile(r"[A-Z2-7]{32}")  # 160 bits, as setup-2fa issues them (RFC 4226)

FREE_FAILURES = 5
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=1)

# What an interim token lets its bearer do next (its purpose claim).
COMPLETE_LOGIN = "login"  # send a code to POST /api/auth/login-2fa
ENROL = "enrol"  # the shop requires 2FA: setup-2fa, then enable-2fa

WRONG_CODE = "code: wrong or expired code"
CODE_USED = "code: this code was already used; wait for the next one"
RECOVERY_CODE_USED = "code: this recovery code was already used"


def recovery_code_from(raw: bytes) -> str:
    """A recovery code made of RECOVERY_CODE_BYTES random bytes (the caller draws them)."""
    if len(raw) != RECOVERY_CODE_BYTES:
        raise ValueError(f"a recovery code takes {RECOVERY_CODE_BYTES} random bytes")
    number = int.from_bytes(raw, "big")
    chars = "".join(_CROCKFORD[(number >> shift) & 31] for shift in range(75, -1, -5))
    return "-".join(chars[i : i + 4] for i in range(0, 16, 4))


def normalise_recovery_code(text: str) -> str | None:
    """The code as hashed (lower case, no dashes or spaces), or None if it cannot be one."""
    plain = re.sub(r"[\s-]", "", text).lower()
    return plain if _RECOVERY.fullmatch(plain) else None


def recovery_code_hash(code: str) -> str:
    """The stored form of a recovery code: SHA-256 hex of its normalised text."""
    plain = normalise_recovery_code(code)
    if plain is None:
        raise ValueError("not a recovery code")
    return hashlib.sha256(plain.encode()).hexdigest()


def match_recovery_code(hashes: Sequence[str], candidate_hash: str) -> int | None:
    """The index of the stored hash equal to the candidate's, comparing every one in
    constant time (how far the search went must not tell anything)."""
    found = None
    for index, stored in enumerate(hashes):
        if hmac.compare_digest(stored, candidate_hash):
            found = index
    return found


def normalise_totp_secret(secret: str) -> str | None:
    """The secret as stored (upper case, no spaces), or None if setup-2fa never made it."""
    plain = re.sub(r"\s", "", secret).upper()
    return plain if TOTP_SECRET.fullmatch(plain) else None


def lockout(failures: int) -> timedelta:
    """How long the second step stays locked after the failure that made this count."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    doublings = min(failures - FREE_FAILURES, 20)  # 30 s * 2**7 is past the cap already
    return min(BASE_DELAY * 2**doublings, MAX_DELAY)


def retry_after(failures: int, last_failure: datetime | None, now: datetime) -> int:
    """Whole seconds until the next code may be tried (0: now)."""
    if last_failure is None:
        return 0
    left = (last_failure + lockout(failures) - now).total_seconds()
    return max(0, math.ceil(left))


def two_factor_required(policy: str, *, is_staff: bool) -> bool:
    """Whether the shop's two_factor_policy makes 2FA compulsory for this user."""
    return policy == TWO_FACTOR_REQUIRED or (policy == TWO_FACTOR_REQUIRED_STAFF and is_staff)
