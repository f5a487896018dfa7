"""Secrets encrypted at rest with Fernet (the SecretBox port): AES-128-CBC + HMAC-SHA256.

Keys come from settings (`secrets_key`: one or more Fernet keys, comma-separated). The first
seals; every one opens, so a key is rotated by putting the new one first and keeping the
old one until nothing sealed with it remains.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class FernetSecretBox:
    """Seals and opens short secrets with the configured Fernet keys."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("secrets_key: at least one Fernet key is required")
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except ValueError as error:  # the message of Fernet's own error names no key
            raise ValueError(
                "secrets_key: each key must be 32 url-safe base64-encoded bytes"
                " (Fernet.generate_key())"
            ) from error

    def seal(self, secret: str) -> str:
        """The secret encrypted and authenticated (a Fernet token, url-safe text)."""
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        """The secret again; ValueError if no configured key made it (or it was altered)."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as error:
            raise ValueError("no configured secrets_key opens this sealed secret") from error
