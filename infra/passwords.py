"""Argon2id password hashing (the PasswordHasher port)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Argon2Hasher:
    """argon2-cffi with its RFC 9106 low-memory defaults; verification is constant-time."""

    def __init__(self) -> None:
        self._hasher = PasswordHasher()

    def hash(self, password: str) -> str:
        """A salted argon2id hash."""
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        """True if the password matches the hash."""
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """True if the hash used weaker parameters than this hasher's."""
        return self._hasher.check_needs_rehash(password_hash)
