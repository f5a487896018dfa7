"""Story: a user asks for a verification link, opens it once, and the address is verified;
the link is single use, expires after 24 hours, and its token never reaches the request log."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from application.notifications import Mail
from tests.support.http import Account, checkout, error_of, register
from tests.support.mail import RecordingMailer

LINK = re.compile(r"/api/auth/verify-email/([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)")


def _token(mail: Mail) -> str:
    found = LINK.search(mail.body)
    assert found, mail.body
    return found.group(1)


def _verified(client: TestClient, auth: dict[str, str]) -> Any:
    return client.get("/api/user/profile", headers=auth).json()["email_verified"]


def test_verify_by_link_once(client: TestClient, mailer: RecordingMailer) -> None:
    account = register(client, "verifier")
    assert _verified(client, account.auth) is False

    response = client.post("/api/auth/resend-verify", headers=account.auth)
    assert response.status_code == 200, response.text
    mail = mailer.sent[-1]
    assert mail.to == account.email
    token = _token(mail)

    opened = client.get(f"/api/auth/verify-email/{token}")
    assert opened.status_code == 200, opened.text
    assert _verified(client, account.auth) is True
    assert "already used" in error_of(client.get(f"/api/auth/verify-email/{token}"), 422)
    assert "already verified" in error_of(
        client.post("/api/auth/resend-verify", headers=account.auth), 409
    )


def test_an_expired_or_replaced_link_is_refused(
    client: TestClient, mailer: RecordingMailer
) -> None:
    account = register(client, "slowpoke")
    container = client.app.state.container  # type: ignore[attr-defined]
    old = container.accounts.verification_mail(
        container.identity.user_by_email(account.email).id,
        now=datetime.now(UTC) - timedelta(hours=25),
    )

    assert "expired" in error_of(client.get(f"/api/auth/verify-email/{_token(old)}"), 422)
    client.post("/api/auth/resend-verify", headers=account.auth)
    first = _token(mailer.sent[-1])
    client.post("/api/auth/resend-verify", headers=account.auth)
    second = _token(mailer.sent[-1])
    assert "invalid" in error_of(client.get(f"/api/auth/verify-email/{first}"), 422)
    assert client.get(f"/api/auth/verify-email/{second}").status_code == 200


def test_the_token_never_reaches_the_request_log() -> None:
    from api.middleware import _loggable

    assert _loggable("/api/auth/verify-email/abc.def") == "/api/auth/verify-email/<token>"
    assert _loggable("/api/auth/me") == "/api/auth/me"


def test_resend_needs_a_session_and_junk_tokens_are_refused(client: TestClient) -> None:
    error_of(client.post("/api/auth/resend-verify"), 401)
    assert "invalid" in error_of(client.get("/api/auth/verify-email/junk"), 422)


def test_registering_mails_a_verification_link(client: TestClient, mailer: RecordingMailer) -> None:
    account = register(client, "newcomer")
    mail = mailer.sent[-1]
    assert mail.to == account.email and mail.subject == "Verify your e-mail address"
    assert client.get(f"/api/auth/verify-email/{_token(mail)}").status_code == 200
    assert _verified(client, account.auth) is True


def test_checkout_waits_for_verification_only_when_the_shop_requires_it(
    client: TestClient, mailer: RecordingMailer, admin: Account
) -> None:
    account = register(client, "hasty")
    link = _token(mailer.sent[-1])
    assert checkout(client, account).status_code == 201  # off by default (the seed's advice)

    required = client.put(
        "/api/admin/settings/email_verification_required",
        headers=admin.auth,
        json={"value": True},
    )
    assert required.status_code == 200, required.text
    try:
        assert "verify your e-mail" in error_of(checkout(client, account), 403)
        client.get(f"/api/auth/verify-email/{link}")
        assert checkout(client, account).status_code == 201
    finally:
        client.put(
            "/api/admin/settings/email_verification_required",
            headers=admin.auth,
            json={"value": False},
        )
