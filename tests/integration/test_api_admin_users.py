"""Staff management over HTTP: admins list accounts, change roles, (de)activate them and
verify e-mails; the last active admin is protected (409)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.support.http import (
    Account,
    after,
    app_settings,
    error_of,
    login,
    register,
    running_app,
    staff,
)

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def _routes(target: str) -> list[tuple[str, str, dict[str, object] | None]]:
    return [
        ("GET", "/api/admin/users", None),
        ("PATCH", f"/api/admin/users/{target}", {"role": "user"}),
        ("PATCH", f"/api/admin/users/{target}/verify", None),
    ]


def _call(client: TestClient, method: str, path: str, body: object, account: Account | None) -> int:
    headers = account.auth if account else {}
    return client.request(method, path, json=body, headers=headers).status_code


def test_every_route_is_for_admins_only(
    client: TestClient, customer: Account, moderator: Account, admin: Account
) -> None:
    for method, path, body in _routes(customer.id):
        assert _call(client, method, path, body, None) == 401, path
        assert _call(client, method, path, body, customer) == 403, path
        assert _call(client, method, path, body, moderator) == 403, path
        assert _call(client, method, path, body, admin) == 200, path


def test_list_search_filter_and_paging(
    client: TestClient, customer: Account, rival: Account, moderator: Account, admin: Account
) -> None:
    odd = register(client, "odd_one")  # '_' in a search is literal, not a wildcard
    position = client.patch(f"/api/admin/users/{odd.id}/verify", headers=admin.auth).json()[
        "position"
    ]
    listing = client.get("/api/admin/users", headers={**admin.auth, **after(position)})
    assert listing.status_code == 200, listing.text
    body = listing.json()
    assert body["total"] >= 5 and (body["page"], body["limit"]) == (1, 20)
    emails = [u["email"] for u in body["users"]]
    assert {customer.email, rival.email, moderator.email, admin.email, odd.email} <= set(emails)
    assert all("password" not in key for u in body["users"] for key in u)
    mine = next(u for u in body["users"] if u["id"] == odd.id)
    assert (mine["role"], mine["is_active"], mine["email_verified"]) == ("user", True, True)

    def search(**params: object) -> dict[str, object]:
        response = client.get("/api/admin/users", params=params, headers=admin.auth)
        assert response.status_code == 200, response.text
        return dict(response.json())

    found = search(q="ODD_")
    assert [u["email"] for u in found["users"]] == [odd.email]  # type: ignore[attr-defined]
    assert search(q="o_d")["total"] == 0  # as a wildcard "o_d" would match "odd"
    assert search(q="%")["total"] == 0
    assert {u["role"] for u in search(role="moderator")["users"]} == {"moderator"}  # type: ignore[attr-defined]
    first, second = search(limit=2, page=1), search(limit=2, page=2)
    assert len(first["users"]) == 2 and first["total"] == body["total"]  # type: ignore[arg-type]
    ids = {u["id"] for u in first["users"]} | {u["id"] for u in second["users"]}  # type: ignore[attr-defined]
    assert len(ids) == 4
    for params in ({"role": "owner"}, {"page": 0}, {"limit": 0}, {"limit": 101}):
        error_of(client.get("/api/admin/users", params=params, headers=admin.auth), 422)


def test_a_role_change_shows_in_the_list_in_me_and_in_what_the_user_may_do(
    client: TestClient, admin: Account
) -> None:
    helper = register(client, "helper")
    error_of(client.get("/api/mod/orders", headers=helper.auth), 403)

    response = client.patch(
        f"/api/admin/users/{helper.id}", json={"role": "moderator"}, headers=admin.auth
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["changed"] is True and changed["user"]["role"] == "moderator"
    assert response.headers["X-Position"] == str(changed["position"])

    listing = client.get(
        "/api/admin/users",
        params={"q": helper.email},
        headers={**admin.auth, **after(changed["position"])},
    ).json()
    assert [u["role"] for u in listing["users"]] == ["moderator"]
    assert client.get("/api/auth/me", headers=helper.auth).json()["role"] == "moderator"
    assert client.get("/api/mod/orders", headers=helper.auth).status_code == 200

    again = client.patch(
        f"/api/admin/users/{helper.id}", json={"role": "moderator"}, headers=admin.auth
    ).json()
    assert again["changed"] is False


def test_deactivation_ends_sessions_and_refuses_login_until_reactivated(
    client: TestClient, admin: Account
) -> None:
    gone = register(client, "gone")
    assert client.get("/api/auth/me", headers=gone.auth).status_code == 200

    off = client.patch(f"/api/admin/users/{gone.id}", json={"is_active": False}, headers=admin.auth)
    assert off.status_code == 200, off.text
    assert off.json()["user"]["is_active"] is False
    error_of(client.get("/api/auth/me", headers=gone.auth), 401)
    error_of(
        client.post(
            "/api/auth/login", json={"email": gone.email, "password": "correct horse battery"}
        ),
        401,
    )

    on = client.patch(f"/api/admin/users/{gone.id}", json={"is_active": True}, headers=admin.auth)
    assert on.status_code == 200 and on.json()["user"]["is_active"] is True
    error_of(client.get("/api/auth/me", headers=gone.auth), 401)  # the old session stays ended
    back = login(client, gone.email)
    assert client.get("/api/auth/me", headers=back.auth).status_code == 200


def test_verify_is_idempotent(client: TestClient, admin: Account) -> None:
    someone = register(client, "someone")
    first = client.patch(f"/api/admin/users/{someone.id}/verify", headers=admin.auth).json()
    second = client.patch(f"/api/admin/users/{someone.id}/verify", headers=admin.auth).json()
    assert (first["changed"], first["user"]["email_verified"]) == (True, True)
    assert (second["changed"], second["user"]["email_verified"]) == (False, True)
    assert second["position"] >= first["position"]


def test_refusals(client: TestClient, customer: Account, admin: Account) -> None:
    path = f"/api/admin/users/{customer.id}"
    error_of(client.patch(path, json={"role": "owner"}, headers=admin.auth), 422)
    error_of(client.patch(path, json={}, headers=admin.auth), 422)
    error_of(client.patch(path, json={"is_active": "maybe"}, headers=admin.auth), 422)
    for bad in (UNKNOWN, "not-a-uuid"):
        error_of(
            client.patch(f"/api/admin/users/{bad}", json={"role": "user"}, headers=admin.auth), 404
        )
        error_of(client.patch(f"/api/admin/users/{bad}/verify", headers=admin.auth), 404)


@pytest.fixture
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with running_app(app_settings(tmp_path_factory.mktemp("admins"))) as running:
        yield running


def test_the_last_active_admin_cannot_leave_zero_admins(fresh: TestClient) -> None:
    boss = staff(fresh, "admin", "boss")
    path = f"/api/admin/users/{boss.id}"
    for body in ({"role": "user"}, {"role": "moderator"}, {"is_active": False}):
        assert "no active admin" in error_of(fresh.patch(path, json=body, headers=boss.auth), 409)
    assert fresh.get("/api/auth/me", headers=boss.auth).json()["role"] == "admin"

    deputy = register(fresh, "deputy")
    promoted = fresh.patch(
        f"/api/admin/users/{deputy.id}", json={"role": "admin"}, headers=boss.auth
    ).json()
    # Wait until the view lists the new admin: it is what names the candidates.
    assert (
        fresh.get(
            "/api/admin/users", headers={**boss.auth, **after(promoted["position"])}
        ).status_code
        == 200
    )
    deputy = login(fresh, deputy.email)
    demoted = fresh.patch(path, json={"role": "user"}, headers=deputy.auth)
    assert demoted.status_code == 200, demoted.text
    error_of(fresh.get("/api/admin/users", headers=boss.auth), 403)
    assert "no active admin" in error_of(
        fresh.patch(
            f"/api/admin/users/{deputy.id}", json={"is_active": False}, headers=deputy.auth
        ),
        409,
    )
