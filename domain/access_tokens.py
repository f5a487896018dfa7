"""The AccessToken aggregate: a personal access token (PAT) of an admin, with scopes.

One stream per token, its id derived from the token's public id, so a presented token
finds its stream without an index. Only the secret's SHA-256 is kept. A token acts as its
owner (an admin) but only on the routes its scopes name; it stops working when revoked,
deleted, expired, or when its owner is no longer an active admin.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.api_keys import hash_secret
from domain.errors import Conflict, InvalidInput

# The seed's six scopes, in the order its table lists them.
SCOPES = (
    "orders:read",
    "orders:write",
    "payment:write",
    "catalog:read",
    "catalog:write",
    "admin:read",
)
MAX_NAME = 100
MAX_DESCRIPTION = 500
MAX_EXPIRES_DAYS = 3650

ACTIVE = "active"
REVOKED = "revoked"
EXPIRED = "expired"


def access_token_id_for(public_id: str) -> UUID:
    """The stream id of a public id (also the id the admin API names the token by)."""
    return uuid5(NAMESPACE_URL, f"fabledger:access-token:{public_id}")


def check_scopes(scopes: Iterable[str]) -> list[str]:
    """The scopes without repeats, in the seed's order; unknown or no scopes are refused."""
    wanted = set(scopes)
    unknown = sorted(wanted - set(SCOPES))
    if unknown:
        raise InvalidInput(
            f"permissions: unknown scope '{unknown[0]}'; expected any of {', '.join(SCOPES)}"
        )
    if not wanted:
        raise InvalidInput("permissions: give at least one scope")
    return [s for s in SCOPES if s in wanted]


def expiry(now: datetime, expires_in_days: int | None) -> datetime | None:
    """When a token made now expires; None (never) when no number of days is given."""
    if expires_in_days is None:
        return None
    if not 1 <= expires_in_days <= MAX_EXPIRES_DAYS:
        raise InvalidInput(f"expires_in_days must be 1-{MAX_EXPIRES_DAYS}, or null (never)")
    return now + timedelta(days=expires_in_days)


class AccessToken(Aggregate):
    """A long-lived credential for server-to-server calls to the admin API."""

    first_used_at: datetime | None = None
    revoked_at: datetime | None = None
    deleted: bool = False

    @event("Issued")
    def __init__(
        self,
        *,
        id: UUID,  # derived from the public id: see access_token_id_for
        public_id: str,
        owner_id: str,
        name: str,
        description: str,
        scopes: list[str],
        expires_at: datetime | None,
        secret_hash: str,
        last_four: str,
        actor: str,
    ) -> None:
        self.public_id = public_id
        self.owner_id = owner_id
        self.name = name
        self.description = description
        self.scopes = list(scopes)
        self.expires_at = expires_at
        self.secret_hash = secret_hash
        self.last_four = last_four

    @classmethod
    def issue(
        cls,
        *,
        public_id: str,
        secret: str,
        owner_id: str,
        name: str,
        description: str,
        scopes: Iterable[str],
        expires_in_days: int | None,
        now: datetime,
        actor: str,
    ) -> AccessToken:
        """Issue a token whose secret the caller shows once and forgets."""
        name = name.strip()
        if not name or len(name) > MAX_NAME:
            raise InvalidInput(f"name must be 1-{MAX_NAME} characters")
        description = description.strip()
        if len(description) > MAX_DESCRIPTION:
            raise InvalidInput(f"description must be at most {MAX_DESCRIPTION} characters")
        return cls(
            id=access_token_id_for(public_id),
            public_id=public_id,
            owner_id=owner_id,
            name=name,
            description=description,
            scopes=check_scopes(scopes),
            expires_at=expiry(now, expires_in_days),
            secret_hash=hash_secret(secret),
            last_four=secret[-4:],
            actor=actor,
        )

    @property
    def revoked(self) -> bool:
        """Whether an admin revoked the token."""
        return self.revoked_at is not None

    def is_expired(self, now: datetime) -> bool:
        """Whether the token's lifetime is over at `now`."""
        return self.expires_at is not None and now >= self.expires_at

    def status(self, now: datetime) -> str:
        """active, revoked or expired (revoked wins: it was an admin's decision)."""
        if self.revoked:
            return REVOKED
        return EXPIRED if self.is_expired(now) else ACTIVE

    def mark_used(self, *, at: datetime, actor: str) -> bool:
        """Remember the first use (once, not per request); False when already used."""
        if self.first_used_at is not None:
            return False
        self._first_used(at=at, actor=actor)
        return True

    def revoke(self, *, at: datetime, actor: str) -> bool:
        """Stop the token working, keeping its record; False when already revoked."""
        if self.deleted:
            raise Conflict("access token was deleted")
        if self.revoked:
            return False
        self._revoked(at=at, actor=actor)
        return True

    def delete(self, *, actor: str) -> None:
        """Remove the token for good (its stream stays, for the audit)."""
        if self.deleted:
            raise Conflict("access token was already deleted")
        self._deleted(actor=actor)

    @event("FirstUsed")
    def _first_used(self, at: datetime, actor: str) -> None:
        self.first_used_at = at

    @event("Revoked")
    def _revoked(self, at: datetime, actor: str) -> None:
        self.revoked_at = at

    @event("Deleted")
    def _deleted(self, actor: str) -> None:
        self.deleted = True
