"""Story: people sign up and sign in; sessions are 8-hour JWTs; bad credentials get 401.

Everything goes through HTTP. A session token is only as good as its signature, its
expiry and the user behind it; every refusal is a 401 with one {"error": ...} body.
"""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from fastapi.testclient import TestClient

from tests.support.http import JWT_SECRET, PASSWORD, Account, error_of, register

EIGHT_HOURS = 8 * 3600


def test_signing_up_answers_201_with_a_session_that_works(client: TestClient) -> None:
    response = client.post(
        "/api/auth/register",
        json={"username": "ada", "email": "Ada@Example.com", "password": PASSWORD},
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["user"]["email"] == "ada@example.com"
    assert body["user"]["role"] == "user"
    assert "password" not in response.text and "hash" not in response.text
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200, me.text
    assert me.json()["id"] == body["user"]["id"]
    assert me.json()["username"] == "ada"


def test_an_email_can_sign_up_only_once_whatever_its_case(
    client: TestClient, customer: Account
) -> None:
    response = client.post(
        "/api/auth/register",
        json={"username": "copycat", "email": customer.email.upper(), "password": PASSWORD},
    )

    assert "already exists" in error_of(response, 409)


@pytest.mark.parametrize(
    ("field", "value", "complaint"),
    [
        ("password", "short", "password"),
        ("email", "not-an-address", "email"),
        ("username", "x!", "username"),
    ],
)
def test_a_sign_up_with_a_weak_password_or_bad_name_is_refused_with_422(
    client: TestClient, field: str, value: str, complaint: str
) -> None:
    body = {"username": "newbie", "email": "newbie@example.com", "password": PASSWORD}
    body[field] = value

    assert complaint in error_of(client.post("/api/auth/register", json=body), 422)


def test_signing_in_gives_an_8_hour_session(client: TestClient, customer: Account) -> None:
    response = client.post("/api/auth/login", json={"email": customer.email, "password": PASSWORD})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["expires_in"] == EIGHT_HOURS
    assert body["user"]["id"] == customer.id
    for token in (body["token"], customer.token):  # from login and from sign-up
        assert jwt.get_unverified_header(token)["alg"] == "HS256"
        claims = jwt.decode(token, JWT_SECRET, algorithms=["HS256"])
        assert claims["exp"] - claims["iat"] == EIGHT_HOURS
        assert claims["sub"] == customer.id
        assert abs(claims["iat"] - time.time()) < 60


def test_a_wrong_password_and_an_unknown_email_get_the_same_401(
    client: TestClient, customer: Account
) -> None:
    wrong_password = client.post(
        "/api/auth/login", json={"email": customer.email, "password": "not the password"}
    )
    unknown_email = client.post(
        "/api/auth/login", json={"email": "nobody@example.com", "password": PASSWORD}
    )
    not_an_email = client.post("/api/auth/login", json={"email": "nobody", "password": PASSWORD})

    text = error_of(wrong_password, 401)
    assert error_of(unknown_email, 401) == text
    assert error_of(not_an_email, 401) == text
    assert "token" not in wrong_password.json()


def _token(secret: str = JWT_SECRET, **claims: object) -> str:
    now = int(time.time())
    payload = {"sub": str(uuid.uuid4()), "role": "user", "iat": now, "exp": now + 60, **claims}
    return jwt.encode(payload, secret, algorithm="HS256")


def test_me_needs_a_valid_session(client: TestClient, customer: Account) -> None:
    other_secret = _token(
        secret="another-secret-that-is-also-long-enough-for-hs256", sub=customer.id
    )
    expired = _token(sub=customer.id, iat=int(time.time()) - 9 * 3600, exp=int(time.time()) - 60)
    unsigned = jwt.encode(
        {"sub": customer.id, "exp": int(time.time()) + 60}, None, algorithm="none"
    )
    no_such_user = _token()  # well signed, but for a user id that was never registered
    refusals = {
        "no header": {},
        "not bearer": {"Authorization": f"Basic {customer.token}"},
        "empty bearer": {"Authorization": "Bearer "},
        "garbage": {"Authorization": "Bearer not.a.jwt"},
        "signed by another secret": {"Authorization": f"Bearer {other_secret}"},
        "expired": {"Authorization": f"Bearer {expired}"},
        "alg none": {"Authorization": f"Bearer {unsigned}"},
        "unknown user": {"Authorization": f"Bearer {no_such_user}"},
    }

    for case, headers in refusals.items():
        response = client.get("/api/auth/me", headers=headers)
        assert response.status_code == 401, (case, response.text)
        error_of(response, 401)
    assert "expired" in client.get("/api/auth/me", headers=refusals["expired"]).json()["error"]


def test_the_role_comes_from_the_account_not_from_the_token(
    client: TestClient, customer: Account
) -> None:
    # Even a correctly signed token that claims "admin" speaks only for what the user is.
    claims_admin = _token(sub=customer.id, role="admin")

    response = client.get("/api/admin/orders", headers={"Authorization": f"Bearer {claims_admin}"})

    error_of(response, 403)
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {claims_admin}"})
    assert me.json()["role"] == "user"


def test_sign_up_and_sign_in_never_write_the_password_or_the_token_to_the_logs(
    client: TestClient, capfd: pytest.CaptureFixture[str]
) -> None:
    password = "Sup3r-secret-passphrase"
    account = register(client, "quiet", password=password)
    signed_in = client.post("/api/auth/login", json={"email": account.email, "password": password})
    client.post("/api/auth/login", json={"email": account.email, "password": password + "x"})
    client.get("/api/auth/me", headers={"Authorization": f"Bearer {signed_in.json()['token']}"})

    out, err = capfd.readouterr()
    logs = out + err
    # The request lines are there, so this is the output the logging set-up really writes.
    assert "request_id" in logs and "/api/auth/login" in logs
    for secret in (password, account.token, signed_in.json()["token"]):
        assert secret not in logs
