"""Stories: a password change or reset ends every other session; a reset link is mailed,
single use and good for an hour; an unknown address gets the same answer as a known one."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from application.notifications import Mail
from infra.settings import Settings
from tests.support.http import PASSWORD, Account, error_of, login, register
from tests.support.mail import RecordingMailer

NEW = "a brand new passphrase"
TOKEN_IN_LINK = re.compile(r"/reset-password\?token=([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)")


def _container(client: TestClient) -> Any:
    return client.app.state.container  # type: ignore[attr-defined]


def _me(client: TestClient, account: Account, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token or account.token}"}
    return client.get("/api/auth/me", headers=headers)


def _token_from(mail: Mail) -> str:
    found = TOKEN_IN_LINK.search(mail.body)
    assert found, mail.body
    return found.group(1)


def _forgot(client: TestClient, email: str) -> dict[str, Any]:
    response = client.post("/api/auth/forgot-password", json={"email": email})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_change_password_ends_the_other_sessions_and_answers_a_fresh_one(
    client: TestClient,
) -> None:
    register(client, "changer")
    phone = login(client, "changer@example.com")
    laptop = login(client, "changer@example.com")

    response = client.post(
        "/api/user/change-password",
        json={"current_password": PASSWORD, "new_password": NEW},
        headers=laptop.auth,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"token", "expires_in", "user"} and body["user"]["id"] == laptop.id
    assert error_of(_me(client, phone), 401) == "session ended; sign in again"
    assert error_of(_me(client, laptop), 401) == "session ended; sign in again"
    assert _me(client, laptop, body["token"]).status_code == 200
    error_of(
        client.post("/api/auth/login", json={"email": laptop.email, "password": PASSWORD}), 401
    )
    assert _me(client, login(client, laptop.email, NEW)).status_code == 200


def test_a_wrong_current_password_is_refused_and_changes_nothing(client: TestClient) -> None:
    account = register(client, "forgetful")

    response = client.post(
        "/api/user/change-password",
        json={"current_password": "not my password", "new_password": NEW},
        headers=account.auth,
    )

    assert error_of(response, 422) == "current_password: wrong password"
    assert _me(client, account).status_code == 200  # the session lives on
    login(client, account.email)  # and the old password still works


def test_the_new_password_follows_the_rules(client: TestClient) -> None:
    account = register(client, "shorty")
    response = client.post(
        "/api/user/change-password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=account.auth,
    )
    assert "at least" in error_of(response, 422)


def test_reset_by_mail_end_to_end(client: TestClient, mailer: RecordingMailer) -> None:
    account = register(client, "resetter")
    before = len(mailer.sent)

    answer = _forgot(client, "Resetter@Example.com")

    (mail,) = mailer.sent[before:]
    assert mail.to == account.email
    token = _token_from(mail)
    response = client.post("/api/auth/reset-password", json={"token": token, "new_password": NEW})
    assert response.status_code == 200, response.text
    assert error_of(_me(client, account), 401) == "session ended; sign in again"
    login(client, account.email, NEW)
    # single use: the same link again is refused
    again = client.post("/api/auth/reset-password", json={"token": token, "new_password": NEW})
    assert "invalid or was already used" in error_of(again, 422)
    # the secret is stored only as its hash
    events = _container(client).identity.repository.event_store.get(
        _container(client).identity.user_by_email(account.email).id
    )
    stored = repr([vars(e) for e in events])
    assert token not in stored and token.split(".")[1] not in stored
    assert answer == _forgot(client, "nobody-here@example.com")


def test_a_password_change_kills_a_pending_reset_link(
    client: TestClient, mailer: RecordingMailer
) -> None:
    account = register(client, "relinker")
    _forgot(client, account.email)
    token = _token_from(mailer.sent[-1])
    changed = client.post(
        "/api/user/change-password",
        headers=account.auth,
        json={"current_password": PASSWORD, "new_password": NEW},
    )
    assert changed.status_code == 200, changed.text
    again = client.post("/api/auth/reset-password", json={"token": token, "new_password": PASSWORD})
    assert "invalid or was already used" in error_of(again, 422)


def test_an_unknown_address_gets_the_same_answer_and_no_mail(
    client: TestClient, mailer: RecordingMailer
) -> None:
    register(client, "known")
    before = len(mailer.sent)

    known = _forgot(client, "known@example.com")
    unknown = _forgot(client, "unknown@example.com")
    not_an_address = _forgot(client, "not an address")

    assert known == unknown == not_an_address
    assert [m.to for m in mailer.sent[before:]] == ["known@example.com"]


def test_an_expired_link_is_refused(client: TestClient, mailer: RecordingMailer) -> None:
    account = register(client, "late")
    before = len(mailer.sent)
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)

    mail = _container(client).accounts.forgot_password(account.email, now=two_hours_ago)

    token = _token_from(mail)
    assert len(mailer.sent) == before  # the use case only composes; the route sends
    response = client.post("/api/auth/reset-password", json={"token": token, "new_password": NEW})
    assert "expired" in error_of(response, 422)
    login(client, account.email)  # the password did not change


def test_a_newer_link_replaces_the_older_one(client: TestClient, mailer: RecordingMailer) -> None:
    account = register(client, "twice")
    before = len(mailer.sent)
    _forgot(client, account.email)
    _forgot(client, account.email)
    first, second = (_token_from(m) for m in mailer.sent[before:])

    stale = client.post("/api/auth/reset-password", json={"token": first, "new_password": NEW})
    assert "invalid" in error_of(stale, 422)
    fresh = client.post("/api/auth/reset-password", json={"token": second, "new_password": NEW})
    assert fresh.status_code == 200, fresh.text


@pytest.mark.parametrize(
    "token",
    ["", "junk", "a.b", "AAAAAAAAAAAAAAAAAAAAAA." + "A" * 43, "x" * 22 + "." + "y" * 43],
)
def test_a_forged_token_is_refused(client: TestClient, token: str) -> None:
    response = client.post("/api/auth/reset-password", json={"token": token, "new_password": NEW})
    assert "invalid" in error_of(response, 422)


def test_a_token_from_before_the_epoch_claim_still_works(client: TestClient) -> None:
    """Sessions issued before the `se` claim existed count as epoch 0."""
    import jwt

    account = register(client, "legacy")
    settings: Settings = _container(client).settings
    claims = jwt.decode(account.token, options={"verify_signature": False})
    claims.pop("se")
    old = jwt.encode(claims, settings.resolved_jwt_secret(), algorithm="HS256")
    assert _me(client, account, old).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/user/change-password"),
        ("GET", "/api/user/profile"),
        ("PATCH", "/api/user/profile"),
        ("GET", "/api/user/2fa-status"),
    ],
)
def test_anonymous_callers_are_401_on_the_user_routes(
    client: TestClient, method: str, path: str
) -> None:
    error_of(client.request(method, path, json={}), 401)
