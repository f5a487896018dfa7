"""Stories about personal access tokens in the domain: the pf_ format and its checksum, the
six scopes, names and lifetimes, and the token's life (first use once, revoke, delete)."""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta

import pytest

from domain.access_token_format import (
    BASE62,
    CHECKSUM_CHARS,
    LENGTH,
    PREFIX,
    MalformedToken,
    TokenChecksumMismatch,
    checksum,
    format_token,
    looks_like_token,
    parse_token,
    to_base62,
)
from domain.access_tokens import (
    SCOPES,
    AccessToken,
    access_token_id_for,
    check_scopes,
    expiry,
)
from domain.api_key_format import format_key, pair_secret, parse_key
from domain.api_keys import hash_secret
from domain.errors import Conflict, InvalidInput

PUBLIC_ID = "Ab3dEf6hIj9k"
SECRET = "0123456789abcdefghijklmnopqrstuv"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def issue(**changes: object) -> AccessToken:
    fields: dict[str, object] = {
        "public_id": PUBLIC_ID,
        "secret": SECRET,
        "owner_id": "owner-1",
        "name": "ERP sync",
        "description": "pulls orders nightly",
        "scopes": ["orders:read"],
        "expires_in_days": 30,
        "now": NOW,
        "actor": "admin:owner-1",
    }
    fields.update(changes)
    return AccessToken.issue(**fields)  # type: ignore[arg-type]


# --- the format ------------------------------------------------------------------------


def test_a_token_is_pf_then_its_public_id_secret_and_a_base62_crc32() -> None:
    token = format_token(PUBLIC_ID, SECRET)
    assert token.startswith("pf_") and len(token) == LENGTH == 53
    assert token == PREFIX + PUBLIC_ID + SECRET + token[-CHECKSUM_CHARS:]
    assert set(token[len(PREFIX) :]) <= set(BASE62)
    crc = zlib.crc32((PUBLIC_ID + SECRET).encode())
    digits = token[-CHECKSUM_CHARS:]
    assert sum(BASE62.index(d) * 62**i for i, d in enumerate(reversed(digits))) == crc
    presented = parse_token(token)
    assert (presented.public_id, presented.secret) == (PUBLIC_ID, SECRET)
    assert looks_like_token(token) and not looks_like_token("eyJhbGciOiJIUzI1NiJ9.x.y")


def test_base62_pads_to_its_width() -> None:
    assert to_base62(0, 6) == "000000"
    assert to_base62(61, 6) == "00000z"
    assert to_base62(62, 6) == "000010"
    assert len(to_base62(2**32 - 1, CHECKSUM_CHARS)) == CHECKSUM_CHARS


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "pf_",
        "PF_" + format_token(PUBLIC_ID, SECRET)[3:],  # the prefix is case-sensitive
        "pg_" + format_token(PUBLIC_ID, SECRET)[3:],
        format_token(PUBLIC_ID, SECRET)[:-1],  # one short
        format_token(PUBLIC_ID, SECRET) + "0",  # one long
        format_token(PUBLIC_ID, SECRET)[:-1] + "\n",  # a control character
        "pf_" + "-" * (LENGTH - 3),  # not base62
        "pf_" + "é" * (LENGTH - 3),
    ],
)
def test_malformed_tokens_are_refused_by_shape(raw: str) -> None:
    with pytest.raises(MalformedToken):
        parse_token(raw)


def test_any_one_character_changed_fails_the_checksum() -> None:
    token = format_token(PUBLIC_ID, SECRET)
    for index in range(len(PREFIX), LENGTH):
        other = "1" if token[index] != "1" else "2"
        typo = token[:index] + other + token[index + 1 :]
        with pytest.raises(TokenChecksumMismatch):
            parse_token(typo)


def test_the_checksum_is_of_the_public_id_and_the_secret() -> None:
    assert checksum(PUBLIC_ID, SECRET) == format_token(PUBLIC_ID, SECRET)[-CHECKSUM_CHARS:]
    assert checksum(PUBLIC_ID, SECRET) != checksum(SECRET[:12], PUBLIC_ID + SECRET[12:])


def test_the_api_key_format_is_unchanged() -> None:
    key_id, secret = "0123456789ab", "0123456789abcdef0123456789abcdef01234567"
    assert format_key(key_id, secret) == (
        "dm_live_0123456789ab0123456789abcdef0123456789abcdef01234567ffe60d1b"
    )
    assert pair_secret(key_id, secret) == "0123456789abcdef0123456789abcdef01234567ffe60d1b"
    assert parse_key(format_key(key_id, secret)).secret == secret


# --- scopes, names, lifetimes ------------------------------------------------------------


def test_the_six_scopes_of_the_seed() -> None:
    assert SCOPES == (
        "orders:read",
        "orders:write",
        "payment:write",
        "catalog:read",
        "catalog:write",
        "admin:read",
    )
    assert check_scopes(["admin:read", "orders:read", "admin:read"]) == [
        "orders:read",
        "admin:read",
    ]
    assert check_scopes(SCOPES) == list(SCOPES)


@pytest.mark.parametrize(
    ("scopes", "message"),
    [
        ([], "at least one scope"),
        (["orders:delete"], "unknown scope 'orders:delete'"),
        (["orders:read", "ORDERS:READ"], "unknown scope 'ORDERS:READ'"),
        (["admin"], "unknown scope 'admin'"),
    ],
)
def test_unknown_or_no_scopes_are_refused(scopes: list[str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        check_scopes(scopes)
    with pytest.raises(InvalidInput, match=message):
        issue(scopes=scopes)


def test_names_are_1_to_100_characters_after_trimming() -> None:
    assert issue(name="  ERP  ").name == "ERP"
    assert issue(name="x" * 100).name == "x" * 100
    for bad in ("", "   ", "x" * 101):
        with pytest.raises(InvalidInput, match="name must be 1-100"):
            issue(name=bad)
    with pytest.raises(InvalidInput, match="description"):
        issue(description="x" * 501)


def test_a_lifetime_is_1_to_3650_days_or_none_for_never() -> None:
    assert expiry(NOW, None) is None
    assert expiry(NOW, 1) == NOW + timedelta(days=1)
    assert expiry(NOW, 3650) == NOW + timedelta(days=3650)
    for bad in (0, -1, 3651):
        with pytest.raises(InvalidInput, match="expires_in_days"):
            issue(expires_in_days=bad)


# --- the token's life ------------------------------------------------------------------


def test_an_issued_token_keeps_only_the_hash_and_names_its_stream_by_public_id() -> None:
    token = issue(scopes=["admin:read", "orders:read"])
    assert token.id == access_token_id_for(PUBLIC_ID)
    assert token.secret_hash == hash_secret(SECRET) and token.last_four == SECRET[-4:]
    assert SECRET not in str(vars(token))
    assert token.scopes == ["orders:read", "admin:read"]
    assert token.expires_at == NOW + timedelta(days=30)
    assert token.status(NOW) == "active"
    assert token.status(NOW + timedelta(days=30)) == "expired"
    assert token.is_expired(NOW + timedelta(days=30)) and not token.is_expired(NOW)
    assert issue(expires_in_days=None).status(NOW + timedelta(days=100_000)) == "active"


def test_first_use_is_one_event_not_one_per_request() -> None:
    token = issue()
    assert token.mark_used(at=NOW, actor="pat:x") is True
    assert token.mark_used(at=NOW + timedelta(hours=1), actor="pat:x") is False
    assert token.first_used_at == NOW
    assert [type(e).__name__ for e in token.collect_events()] == ["Issued", "FirstUsed"]


def test_revoke_keeps_the_record_and_repeats_change_nothing() -> None:
    token = issue()
    assert token.revoke(at=NOW, actor="admin:a") is True
    assert token.revoke(at=NOW, actor="admin:a") is False
    assert token.revoked and token.revoked_at == NOW and token.status(NOW) == "revoked"
    events = token.collect_events()
    assert [type(e).__name__ for e in events] == ["Issued", "Revoked"]
    assert all(e.actor for e in events)  # type: ignore[attr-defined]


def test_delete_is_once_and_a_deleted_token_cannot_be_revoked() -> None:
    token = issue()
    token.delete(actor="admin:a")
    assert token.deleted
    with pytest.raises(Conflict):
        token.delete(actor="admin:a")
    with pytest.raises(Conflict):
        token.revoke(at=NOW, actor="admin:a")
