"""Personal access tokens: issue (shown once), revoke, delete, verify, and their access log.

The token streams live in the identity application's log (beside the users they act
as). Verification is parse (no lookup for a malformed token or a bad checksum), then the
token's state from a TTL cache or its stream, a constant-time hash comparison, the expiry,
and the owner read fresh from their stream on every request: deactivating or demoting the
owner stops their tokens at once, in every process.

Revocation bound: a revoke or delete in this process forgets the cached state at once;
another process trusts its cached copy for at most CACHE_SECONDS (2 s) after loading it.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application.caching import TtlCache
from application.identity import IdentityApp
from application.ports import AccessLog, AccessLogEntry
from domain.access_token_format import (
    BASE62,
    PUBLIC_ID_CHARS,
    SECRET_CHARS,
    MalformedToken,
    TokenChecksumMismatch,
    format_token,
    parse_token,
)
from domain.access_tokens import AccessToken, access_token_id_for
from domain.api_keys import hash_secret
from domain.errors import InvalidInput, NotFound, Unauthorized
from domain.users import ADMIN, User

CACHE_SECONDS = 2.0
MAX_BULK = 100
ALL_LOGS = 500  # the seed: all PAT access logs, last 500
TOKEN_LOGS = 200  # the seed: one token's logs, last 200
SAVE_RETRIES = 3  # a first use recorded by another process can race a revoke
BUSY = "the token changed at the same time; try again"

MALFORMED = "malformed personal access token"
INVALID = "invalid token"
REVOKED = "token revoked"
EXPIRED = "token expired"
OWNER_GONE = "token owner is no longer an active admin"
NOT_FOUND = "access token not found"


@dataclass(frozen=True)
class IssuedToken:
    """A new token and its plaintext, which exists only in this answer."""

    token: AccessToken
    plaintext: str
    position: int


@dataclass(frozen=True)
class TokenChange:
    """A token after a command, whether it changed, and the log position written."""

    token: AccessToken
    changed: bool
    position: int


@dataclass(frozen=True)
class BulkOutcome:
    """Which ids a bulk command changed, found already so, or did not find."""

    done: list[str]
    unchanged: list[str]
    not_found: list[str]
    position: int


@dataclass(frozen=True)
class VerifiedToken:
    """A token that authenticated, and the admin it acts as."""

    id: str  # the token's UUID, as the admin API names it
    name: str
    scopes: frozenset[str]
    owner: User


@dataclass(frozen=True)
class _State:
    """What verification needs of a token, as cached."""

    id: UUID
    name: str
    owner_id: UUID
    scopes: frozenset[str]
    secret_hash: str
    expires_at: datetime | None
    revoked: bool
    deleted: bool
    used: bool


_UNKNOWN = object()  # cached answer for a token id that is not in the store


def _state_of(token: AccessToken) -> _State:
    return _State(
        id=token.id,
        name=token.name,
        owner_id=UUID(token.owner_id),
        scopes=frozenset(token.scopes),
        secret_hash=token.secret_hash,
        expires_at=token.expires_at,
        revoked=token.revoked,
        deleted=token.deleted,
        used=token.first_used_at is not None,
    )


def _random_base62(length: int) -> str:
    return "".join(secrets.choice(BASE62) for _ in range(length))


class AccessTokens:
    """The admins' token commands and the hot-path verification, over the identity log."""

    def __init__(
        self, identity: IdentityApp, log: AccessLog, *, cache_seconds: float = CACHE_SECONDS
    ) -> None:
        self.identity = identity
        self.log = log
        self._cache = TtlCache(cache_seconds)

    # --- commands -----------------------------------------------------------------------

    def issue(
        self,
        *,
        owner: User,
        name: str,
        description: str,
        scopes: Sequence[str],
        expires_in_days: int | None,
        actor: str,
        now: datetime | None = None,
    ) -> IssuedToken:
        """A new token acting as `owner` (an admin); its plaintext is returned once."""
        if owner.role != ADMIN or not owner.is_active:
            raise InvalidInput("only an active admin can own an access token")
        public_id, secret = _random_base62(PUBLIC_ID_CHARS), _random_base62(SECRET_CHARS)
        token = AccessToken.issue(
            public_id=public_id,
            secret=secret,
            owner_id=str(owner.id),
            name=name,
            description=description,
            scopes=scopes,
            expires_in_days=expires_in_days,
            now=now or datetime.now(UTC),
            actor=actor,
        )
        position = self.identity.save_new(token)
        self._cache.forget(public_id)  # a probe of this id may have cached "unknown"
        return IssuedToken(token, format_token(public_id, secret), position)

    def get(self, token_uuid: UUID) -> AccessToken:
        """The token (revoked ones too), or NotFound when unknown or deleted."""
        token = self.identity.find(token_uuid, AccessToken)
        if token is None or token.deleted:
            raise NotFound(NOT_FOUND)
        return token

    def revoke(self, token_uuid: UUID, *, actor: str, now: datetime | None = None) -> TokenChange:
        """Disable the token, keeping its record; revoking again changes nothing."""
        token, position = self.identity.update(
            lambda: self.get(token_uuid),
            lambda token: token.revoke(at=now or datetime.now(UTC), actor=actor),
            busy=BUSY,
            attempts=SAVE_RETRIES,
        )
        if position is None:
            return TokenChange(token, False, self.identity.position())
        self._cache.forget(token.public_id)
        return TokenChange(token, True, position)

    def delete(self, token_uuid: UUID, *, actor: str) -> int:
        """Delete the token and its access log for good; the position written."""
        token, position = self.identity.update(
            lambda: self.get(token_uuid),
            lambda token: token.delete(actor=actor),
            busy=BUSY,
            attempts=SAVE_RETRIES,
        )
        self._forget([token])
        return position or self.identity.position()

    def revoke_many(
        self, raw_ids: Sequence[str], *, actor: str, now: datetime | None = None
    ) -> BulkOutcome:
        """Revoke up to MAX_BULK tokens in one atomic write (all or none)."""
        found, missing = self._found(raw_ids)
        at = now or datetime.now(UTC)
        changed = [t for t in found if t.revoke(at=at, actor=actor)]
        position = self.identity.save_new(*changed) if changed else self.identity.position()
        for token in changed:
            self._cache.forget(token.public_id)
        done = {t.id for t in changed}
        return BulkOutcome(
            done=[str(t.id) for t in changed],
            unchanged=[str(t.id) for t in found if t.id not in done],
            not_found=missing,
            position=position,
        )

    def delete_many(self, raw_ids: Sequence[str], *, actor: str) -> BulkOutcome:
        """Delete up to MAX_BULK tokens and their logs in one atomic write (all or none)."""
        found, missing = self._found(raw_ids)
        for token in found:
            token.delete(actor=actor)
        position = self.identity.save_new(*found) if found else self.identity.position()
        self._forget(found)
        return BulkOutcome(
            done=[str(t.id) for t in found], unchanged=[], not_found=missing, position=position
        )

    def _found(self, raw_ids: Sequence[str]) -> tuple[list[AccessToken], list[str]]:
        """The live tokens named (each once, in the order given) and the ids not found."""
        if len(raw_ids) > MAX_BULK:
            raise InvalidInput(f"ids: at most {MAX_BULK} at once")
        found: dict[UUID, AccessToken] = {}
        missing: list[str] = []
        for raw in dict.fromkeys(raw_ids):
            try:
                found.setdefault(UUID(raw), self.get(UUID(raw)))
            except (ValueError, NotFound):
                missing.append(raw)
        return list(found.values()), missing

    def _forget(self, tokens: Sequence[AccessToken]) -> None:
        for token in tokens:
            self._cache.forget(token.public_id)
        if tokens:
            self.log.forget([str(t.id) for t in tokens])

    # --- verification (every PAT request) ---------------------------------------------------

    def verify(self, raw: str, now: datetime | None = None) -> VerifiedToken:
        """The token behind a presented `pf_...` credential, or Unauthorized saying why."""
        try:
            presented = parse_token(raw)
        except MalformedToken as error:
            raise Unauthorized(MALFORMED) from error
        except TokenChecksumMismatch as error:
            raise Unauthorized(INVALID) from error
        state = self._state(presented.public_id)
        if not hmac.compare_digest(state.secret_hash, hash_secret(presented.secret)):
            raise Unauthorized(INVALID)
        if state.deleted:
            raise Unauthorized(INVALID)
        if state.revoked:
            raise Unauthorized(REVOKED)
        now = now or datetime.now(UTC)
        if state.expires_at is not None and now >= state.expires_at:
            raise Unauthorized(EXPIRED)
        # Read fresh each time, as for a session: the owner's role is what the token acts as.
        owner = self.identity.get_user(state.owner_id)
        if owner is None or not owner.is_active or owner.role != ADMIN:
            raise Unauthorized(OWNER_GONE)
        if not state.used:
            self._first_use(presented.public_id, state, now)
        return VerifiedToken(str(state.id), state.name, state.scopes, owner)

    def _state(self, public_id: str) -> _State:
        cached = self._cache.get(public_id)
        if cached is _UNKNOWN:
            raise Unauthorized(INVALID)
        if isinstance(cached, _State):
            return cached
        loaded_at = self._cache.now()
        token = self.identity.find(access_token_id_for(public_id), AccessToken)
        if token is None:
            # Remember misses too: the checksum is public, so well-formed junk is cheap to make.
            self._cache.put(public_id, _UNKNOWN, loaded_at)
            raise Unauthorized(INVALID)
        state = _state_of(token)
        self._cache.put(public_id, state, loaded_at)
        return state

    def _first_use(self, public_id: str, state: _State, now: datetime) -> None:
        """Record the first use once (an event, not a write per request)."""
        loaded_at = self._cache.now()
        token = self.identity.find(state.id, AccessToken)
        if token is None:
            return
        live = not (token.deleted or token.revoked)
        if live and token.mark_used(at=now, actor=f"pat:{token.id}"):
            # Lost to another process's first use, or to an admin's change: either is fine.
            with suppress(IntegrityError):
                self.identity.save(token)
        self._cache.put(public_id, replace(_state_of(token), used=True), loaded_at)

    # --- access log -----------------------------------------------------------------------

    def record(self, entry: AccessLogEntry) -> None:
        """Log one PAT request (queued: never blocks the request)."""
        self.log.record(entry)

    def logs(self, token_uuid: UUID | None = None) -> list[AccessLogEntry]:
        """The newest entries first: the last 500 of all tokens, or the last 200 of one."""
        if token_uuid is None:
            return self.log.recent(None, ALL_LOGS)
        self.get(token_uuid)  # 404 for an unknown or deleted token
        return self.log.recent(str(token_uuid), TOKEN_LOGS)

    def last_used(self) -> dict[str, str]:
        """When each token was last used, by token id (from the access log)."""
        return self.log.last_used()
