"""Story: an admin reads every shop setting, changes one (validated by key), and any admin
can see who changed what from what; nobody else can read or change them."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient

from tests.support.http import Account, error_of


def _put(client: TestClient, who: Account, key: str, value: object) -> httpx.Response:
    return client.put(f"/api/admin/settings/{key}", headers=who.auth, json={"value": value})


def test_settings_list_every_key_with_default_and_description(
    client: TestClient, admin: Account
) -> None:
    body = client.get("/api/admin/settings", headers=admin.auth).json()
    assert body["settings"]["email_verification_required"] == {
        "value": False,
        "default": False,
        "description": body["settings"]["email_verification_required"]["description"],
    }
    assert body["settings"]["two_factor_policy"]["default"] == "optional"


def test_a_change_is_an_event_with_its_actor_and_previous_value(
    client: TestClient, admin: Account
) -> None:
    changed = _put(client, admin, "two_factor_policy", "required_staff")
    assert changed.status_code == 200, changed.text
    answer = changed.json()
    assert answer["changed"] is True and answer["previous"] == "optional"
    assert answer["value"] == "required_staff"
    again = _put(client, admin, "two_factor_policy", "required_staff").json()
    assert again["changed"] is False

    _put(client, admin, "two_factor_policy", "optional")
    changes = client.get("/api/admin/settings/history", headers=admin.auth).json()["changes"]
    mine = [c for c in changes if c["key"] == "two_factor_policy"][-2:]
    assert [(c["previous"], c["value"]) for c in mine] == [
        ("optional", "required_staff"),
        ("required_staff", "optional"),
    ]
    assert {c["actor"] for c in mine} == {f"admin:{admin.id}"}
    current = client.get("/api/admin/settings", headers=admin.auth).json()
    assert current["settings"]["two_factor_policy"]["value"] == "optional"


def test_wrong_values_name_the_key_and_unknown_keys_are_404(
    client: TestClient, admin: Account
) -> None:
    for value in ("yes", 1, None, [True]):
        message = error_of(_put(client, admin, "email_verification_required", value), 422)
        assert message.startswith("email_verification_required:"), message
    assert "two_factor_policy" in error_of(_put(client, admin, "two_factor_policy", "always"), 422)
    assert "known settings" in error_of(_put(client, admin, "no_such_key", True), 404)
    error_of(client.put("/api/admin/settings/x", headers=admin.auth, json={}), 422)


def test_only_admins_read_or_change_settings(
    client: TestClient, customer: Account, moderator: Account
) -> None:
    for path in ("/api/admin/settings", "/api/admin/settings/history"):
        error_of(client.get(path), 401)
        error_of(client.get(path, headers=customer.auth), 403)
        error_of(client.get(path, headers=moderator.auth), 403)
    for who in (customer, moderator):
        error_of(_put(client, who, "email_verification_required", True), 403)
    error_of(
        client.put("/api/admin/settings/email_verification_required", json={"value": True}), 401
    )
