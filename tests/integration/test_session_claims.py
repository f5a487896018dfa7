"""Story: a correctly signed session token with malformed claims is a 401, never a 500.

The signature only proves who made the token; a leaked or misused secret can still sign
junk. Every claim is checked for its shape: `sub` a user id (UUID text), `role` text, `exp`
a finite number, all three present; anything else is `invalid session token`.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from domain.errors import Unauthorized
from infra.tokens import SessionTokens
from tests.support.http import JWT_SECRET, Account, error_of

FACTORY_SECRET = "test-secret-that-is-long-enough-for-hs256"  # tests/support/factories.py
MISSING = object()


def _signed(secret: str, **claims: Any) -> str:
    now = int(time.time())
    payload = {"sub": str(uuid.uuid4()), "role": "user", "iat": now, "exp": now + 600}
    payload.update(claims)
    return jwt.encode(
        {k: v for k, v in payload.items() if v is not MISSING}, secret, algorithm="HS256"
    )


MALFORMED: dict[str, dict[str, Any]] = {
    "sub not a UUID": {"sub": "not-a-uuid"},
    "sub empty": {"sub": ""},
    "sub a path": {"sub": "../../etc/passwd"},
    "sub a number": {"sub": 12345},
    "sub null": {"sub": None},
    "sub a list": {"sub": [str(uuid.uuid4())]},
    "sub an object": {"sub": {"id": str(uuid.uuid4())}},
    "sub missing": {"sub": MISSING},
    "role a number": {"role": 1},
    "role null": {"role": None},
    "role a list": {"role": ["admin"]},
    "role missing": {"role": MISSING},
    "exp text": {"exp": "tomorrow"},
    "exp a list": {"exp": [2**40]},
    "exp null": {"exp": None},
    "exp infinite": {"exp": float("inf")},
    "exp not a number": {"exp": float("nan")},
    "exp missing": {"exp": MISSING},
    "iat text": {"iat": "now"},
    "nbf text": {"nbf": "later"},
}


@pytest.mark.parametrize("claims", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_signed_token_with_a_malformed_claim_is_401(
    client: TestClient, claims: dict[str, Any]
) -> None:
    token = _signed(JWT_SECRET, **claims)

    for path in ("/api/auth/me", "/api/user/orders"):
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert error_of(response, 401) == "invalid session token"


def test_a_signed_token_for_a_real_user_still_works(client: TestClient, customer: Account) -> None:
    # Written by hand, with the user's id in another UUID spelling: the claims are read
    # for their meaning, so the user is found all the same.
    token = _signed(JWT_SECRET, sub=uuid.UUID(customer.id).hex.upper())

    response = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200, response.text
    assert response.json()["id"] == customer.id


@pytest.mark.parametrize("claims", MALFORMED.values(), ids=MALFORMED.keys())
def test_session_tokens_refuse_malformed_claims(claims: dict[str, Any]) -> None:
    tokens = SessionTokens(FACTORY_SECRET)

    with pytest.raises(Unauthorized, match=r"^invalid session token$"):
        tokens.read(_signed(FACTORY_SECRET, **claims))


def test_session_tokens_read_their_own_tokens() -> None:
    tokens = SessionTokens(FACTORY_SECRET)
    user_id = str(uuid.uuid4())

    claims = tokens.read(tokens.issue(user_id, "moderator"))

    assert (claims.user_id, claims.role) == (user_id, "moderator")
