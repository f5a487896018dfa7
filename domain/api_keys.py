"""The ApiKey aggregate: one stream per issued key; only the secret's hash is kept."""

from __future__ import annotations

import hashlib
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, InvalidInput

MAX_KEY_NAME = 100


def api_key_id_for(key_id: str) -> UUID:
    """The stream id of a key id: a presented key finds its stream without an index."""
    return uuid5(NAMESPACE_URL, f"fabledger:api-key:{key_id}")


def hash_secret(secret: str) -> str:
    """SHA-256 of the secret: enough for 160 random bits (no KDF needed, no salt to leak)."""
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKey(Aggregate):
    """A credential of an organisation, usable until revoked."""

    @event("Issued")
    def __init__(
        self,
        *,
        id: UUID,  # derived from the key id: see api_key_id_for
        org_id: str,
        key_id: str,
        name: str,
        secret_hash: str,
        last_four: str,
        actor: str,
    ) -> None:
        self.org_id = org_id
        self.key_id = key_id
        self.name = name
        self.secret_hash = secret_hash
        self.last_four = last_four
        self.revoked = False

    @classmethod
    def issue(cls, *, org_id: str, key_id: str, name: str, secret: str, actor: str) -> ApiKey:
        """Issue a key whose secret the caller shows once and forgets."""
        name = name.strip()
        if not name or len(name) > MAX_KEY_NAME:
            raise InvalidInput(f"name must be 1-{MAX_KEY_NAME} characters")
        return cls(
            id=api_key_id_for(key_id),
            org_id=org_id,
            key_id=key_id,
            name=name,
            secret_hash=hash_secret(secret),
            last_four=secret[-4:],
            actor=actor,
        )

    def revoke(self, *, actor: str) -> None:
        """Stop the key from working; revoking twice is refused."""
        if self.revoked:
            raise Conflict("API key is already revoked")
        self._revoked(actor=actor)

    @event("Revoked")
    def _revoked(self, actor: str) -> None:
        self.revoked = True
