"""Story: a signed-in user reads and edits their own profile; 2FA status reads false until
2FA exists; every change is an event naming the user as its actor."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.support.http import Account, error_of, register


def _profile(client: TestClient, account: Account) -> dict[str, Any]:
    response = client.get("/api/user/profile", headers=account.auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_profile_shows_the_account(client: TestClient, customer: Account) -> None:
    body = _profile(client, customer)

    assert body["id"] == customer.id and body["email"] == customer.email
    assert (body["username"], body["role"], body["display_name"]) == ("maker", "user", None)
    assert body["email_verified"] is False and body["two_factor_enabled"] is False
    assert body["created_at"]


def test_patch_changes_username_and_display_name_with_an_event(client: TestClient) -> None:
    account = register(client, "renamer")

    response = client.patch(
        "/api/user/profile",
        json={"username": "renamed", "display_name": "  Renée Maker  "},
        headers=account.auth,
    )

    assert response.status_code == 200, response.text
    assert (response.json()["username"], response.json()["display_name"]) == (
        "renamed",
        "Renée Maker",
    )
    assert _profile(client, account)["username"] == "renamed"
    identity = client.app.state.container.identity  # type: ignore[attr-defined]
    user = identity.user_by_email(account.email)
    last = list(identity.repository.event_store.get(user.id))[-1]
    assert (type(last).__name__, last.actor) == ("ProfileUpdated", f"user:{account.id}")
    # the same values again write nothing
    version = user.version
    client.patch("/api/user/profile", json={"username": "renamed"}, headers=account.auth)
    assert identity.user_by_email(account.email).version == version


def test_patch_refuses_a_bad_username_or_display_name(client: TestClient) -> None:
    account = register(client, "strict")
    for body in ({"username": "a b"}, {"username": "x"}, {"display_name": "   "}):
        response = client.patch("/api/user/profile", json=body, headers=account.auth)
        error_of(response, 422)
    response = client.patch(
        "/api/user/profile", json={"display_name": "tab\there"}, headers=account.auth
    )
    assert "control characters" in error_of(response, 422)
    assert _profile(client, account)["username"] == "strict"


def test_two_factor_status_is_off(client: TestClient, customer: Account) -> None:
    response = client.get("/api/user/2fa-status", headers=customer.auth)
    assert response.status_code == 200 and response.json() == {"enabled": False}
