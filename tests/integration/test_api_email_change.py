"""Story: a user moves their account to a new address; nothing changes until the link mailed
to the new inbox is opened, then they sign in with the new address and the old one names
nobody; an address can belong to one account only, even when two ask for it at once."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient

from tests.support.http import PASSWORD, Account, error_of, login, register
from tests.support.mail import RecordingMailer

LINK = re.compile(r"/api/auth/verify-email/([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)")


def _ask(
    client: TestClient, who: Account, new_email: str, password: str = PASSWORD
) -> httpx.Response:
    return client.post(
        "/api/user/request-email-change",
        headers=who.auth,
        json={"new_email": new_email, "password": password},
    )


def _link(mailer: RecordingMailer, to: str) -> str:
    mail = [m for m in mailer.sent if m.to == to][-1]
    found = LINK.search(mail.body)
    assert found, mail.body
    return found.group(1)


def test_the_address_changes_only_when_the_new_inbox_opens_the_link(
    client: TestClient, mailer: RecordingMailer
) -> None:
    mover = register(client, "mover")
    asked = _ask(client, mover, "Mover.New@Example.com")
    assert asked.status_code == 200, asked.text
    profile = client.get("/api/user/profile", headers=mover.auth).json()
    assert profile["email"] == mover.email and profile["pending_email"] == "mover.new@example.com"
    login(client, mover.email)  # still the old address until the link is opened

    token = _link(mailer, "mover.new@example.com")
    assert client.get(f"/api/auth/verify-email/{token}").status_code == 200
    profile = client.get("/api/user/profile", headers=mover.auth).json()
    assert profile["email"] == "mover.new@example.com" and profile["pending_email"] is None
    assert profile["email_verified"] is True

    assert login(client, "mover.new@example.com").id == mover.id
    refused = client.post("/api/auth/login", json={"email": mover.email, "password": PASSWORD})
    error_of(refused, 401)
    assert "already used" in error_of(client.get(f"/api/auth/verify-email/{token}"), 422)

    # Both addresses stay with the account: nobody can register either of them.
    for email in (mover.email, "mover.new@example.com"):
        taken = client.post(
            "/api/auth/register",
            json={"username": "squatter", "email": email, "password": PASSWORD},
        )
        error_of(taken, 409)
    # The forgotten-password flow finds the account by its new address.
    client.post("/api/auth/forgot-password", json={"email": "mover.new@example.com"})
    assert any(
        m.to == "mover.new@example.com" and "reset" in m.subject.lower() for m in mailer.sent
    )


def test_refusals_name_the_field(client: TestClient, mailer: RecordingMailer) -> None:
    careful = register(client, "careful")
    other = register(client, "other")
    assert "password" in error_of(_ask(client, careful, "x@example.com", "wrong password"), 422)
    assert "new_email" in error_of(_ask(client, careful, "not-an-address"), 422)
    assert "already" in error_of(_ask(client, careful, careful.email.upper()), 422)
    assert "new_email" in error_of(_ask(client, careful, other.email), 409)
    error_of(client.post("/api/user/request-email-change", json={"new_email": "a@b.co"}), 401)


def test_two_accounts_asking_for_one_address_get_it_once(
    client: TestClient, mailer: RecordingMailer
) -> None:
    first, second = register(client, "first"), register(client, "second")
    for who in (first, second):
        assert _ask(client, who, "wanted@example.com").status_code == 200
    tokens = [m for m in mailer.sent if m.to == "wanted@example.com"][-2:]
    opened = [client.get(LINK.search(m.body).group(0)) for m in tokens]  # type: ignore[union-attr]
    assert [r.status_code for r in opened] == [200, 409]
    assert "took this address" in opened[1].json()["error"]
    emails = {
        who.id: client.get("/api/user/profile", headers=who.auth).json()["email"]
        for who in (first, second)
    }
    assert emails == {first.id: "wanted@example.com", second.id: second.email}
