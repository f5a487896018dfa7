"""Access tokens in the application, on every backend: verification with its cache, the
revocation bound between processes, first use once, and the owner read fresh."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from application.access_tokens import AccessTokens
from application.caching import TtlCache
from domain.access_tokens import AccessToken
from domain.errors import Unauthorized
from domain.users import User
from infra.bootstrap import Container

PASSWORD = "admin password 1"


def _admin(container: Container, name: str = "root") -> User:
    return container.identity.ensure_admin(
        email=f"{name}@example.com", username=name, password=PASSWORD
    )


def _issue(tokens: AccessTokens, owner: User, **changes: object) -> tuple[str, AccessToken]:
    fields: dict[str, object] = {
        "owner": owner,
        "name": "sync",
        "description": "",
        "scopes": ["orders:read"],
        "expires_in_days": None,
        "actor": f"admin:{owner.id}",
    }
    fields.update(changes)
    issued = tokens.issue(**fields)  # type: ignore[arg-type]
    return issued.plaintext, issued.token


def _event_names(container: Container, token: AccessToken) -> list[str]:
    stored = container.identity.repository.event_store.get(token.id)
    return [type(e).__name__ for e in stored]


def test_a_verified_token_acts_as_its_owner_and_records_its_first_use_once(
    container: Container,
) -> None:
    owner = _admin(container)
    plaintext, token = _issue(container.access_tokens, owner, scopes=["admin:read"])
    for _ in range(3):
        verified = container.access_tokens.verify(plaintext)
    assert (verified.id, verified.owner.id) == (str(token.id), owner.id)
    assert verified.scopes == frozenset({"admin:read"})
    assert _event_names(container, token) == ["Issued", "FirstUsed"]


def test_another_process_sees_a_revocation_within_its_cache_ttl(container: Container) -> None:
    owner = _admin(container)
    here = container.access_tokens
    there = AccessTokens(container.identity, container.access_log, cache_seconds=0.3)
    plaintext, token = _issue(here, owner)
    there.verify(plaintext)  # cached there
    here.revoke(token.id, actor="admin:x")
    with pytest.raises(Unauthorized, match="token revoked"):
        here.verify(plaintext)  # at once in the revoking process
    there.verify(plaintext)  # still trusted from memory...
    time.sleep(0.35)
    with pytest.raises(Unauthorized, match="token revoked"):
        there.verify(plaintext)  # ...for at most the TTL


def test_an_expired_token_is_refused_and_so_is_a_demoted_owner_s(container: Container) -> None:
    owner = _admin(container)
    long_ago = datetime.now(UTC) - timedelta(days=2)
    old, _ = _issue(container.access_tokens, owner, expires_in_days=1, now=long_ago)
    with pytest.raises(Unauthorized, match="token expired"):
        container.access_tokens.verify(old)
    fresh, _ = _issue(container.access_tokens, owner, expires_in_days=1)
    container.access_tokens.verify(fresh)
    demoted = container.identity.get_user(owner.id)
    assert demoted is not None and demoted.change_role("moderator", actor="test")
    container.identity.save(demoted)
    with pytest.raises(Unauthorized, match="no longer an active admin"):
        container.access_tokens.verify(fresh)  # the owner is read fresh: no cache to wait for


def test_a_load_that_started_before_a_forget_is_not_cached() -> None:
    cache = TtlCache(10)
    loaded_at = cache.now()
    cache.forget("k")  # a revocation while the load was in flight
    cache.put("k", "stale", loaded_at)
    assert cache.get("k") is None
    cache.put("k", "fresh", cache.now())
    assert cache.get("k") == "fresh"
