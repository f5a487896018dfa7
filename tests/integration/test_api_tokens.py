"""Personal access tokens over HTTP: an admin creates a pf_ token (shown once), integrations
call admin routes with it, every such request is logged, and a token stops working when
revoked, deleted, expired, or when its owner is no longer an active admin."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from application.access_tokens import CACHE_SECONDS
from domain.access_token_format import format_token
from domain.access_tokens import SCOPES
from tests.support.http import (
    Account,
    after,
    app_settings,
    error_of,
    place_order,
    running_app,
    staff,
)

UNKNOWN = "00000000-0000-4000-8000-000000000000"
JWT_ONLY = "this endpoint is JWT only; personal access tokens cannot use it"


def create(client: TestClient, admin: Account, **fields: Any) -> dict[str, Any]:
    """POST /api/admin/tokens; the answer (with the plaintext token)."""
    body = {"name": "integration", "permissions": ["orders:read"], **fields}
    response = client.post("/api/admin/tokens", json=body, headers=admin.auth)
    assert response.status_code == 201, response.text
    return dict(response.json())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def listed(client: TestClient, admin: Account, position: int) -> dict[str, dict[str, Any]]:
    """The token list by id, once it includes `position`."""
    response = client.get("/api/admin/tokens", headers={**admin.auth, **after(position)})
    assert response.status_code == 200, response.text
    return {t["id"]: t for t in response.json()["tokens"]}


def logs(client: TestClient, admin: Account, token_id: str | None = None) -> list[dict[str, Any]]:
    path = "/api/admin/tokens/logs" if token_id is None else f"/api/admin/tokens/{token_id}/logs"
    response = client.get(path, headers=admin.auth)
    assert response.status_code == 200, response.text
    return list(response.json()["logs"])


def test_the_token_is_shown_once_and_the_list_never_shows_it(
    client: TestClient, admin: Account
) -> None:
    made = create(
        client,
        admin,
        name="ERP sync",
        description="pulls orders\nnightly",
        permissions=["admin:read", "orders:read", "orders:read"],
        expires_in_days=90,
    )
    token = made["token"]
    assert token.startswith("pf_") and len(token) == 53
    assert made["permissions"] == ["orders:read", "admin:read"]
    assert (made["status"], made["owner_id"], made["revoked_at"]) == ("active", admin.id, None)
    assert made["expires_at"] is not None and made["first_used_at"] is None
    assert made["hint"].startswith(token[:15]) and made["hint"].endswith(token[-10:-6])

    response = client.get("/api/admin/tokens", headers={**admin.auth, **after(made["position"])})
    assert token not in response.text and token[15:47] not in response.text
    mine = {t["id"]: t for t in response.json()["tokens"]}[made["id"]]
    assert "token" not in mine and not any("hash" in key for key in mine)
    assert mine["name"] == "ERP sync" and mine["description"] == "pulls orders\nnightly"
    assert mine["hint"] == made["hint"] and mine["status"] == "active"

    never = create(client, admin, expires_in_days=None)
    assert never["expires_at"] is None


def test_a_pat_acts_as_its_owner_within_its_scopes(
    client: TestClient, admin: Account, customer: Account
) -> None:
    order = place_order(client, customer)
    made = create(client, admin, permissions=["orders:read", "orders:write"])
    pat = bearer(made["token"])

    listing = client.get("/api/admin/orders", headers={**pat, **after(order["position"])})
    assert listing.status_code == 200, listing.text
    assert order["id"] in [o["id"] for o in listing.json()["orders"]]
    note = client.post(
        f"/api/admin/orders/{order['id']}/notes", json={"note": "from the ERP"}, headers=pat
    )
    assert note.status_code == 201, note.text
    history = client.get(f"/api/admin/orders/{order['id']}/history", headers=pat).json()
    # Events name the owner and the token that acted.
    assert history["events"][-1]["actor"] == f"admin:{admin.id}/pat:{made['id']}"

    assert error_of(client.get("/api/admin/stats", headers=pat), 403) == (
        "token lacks scope admin:read"
    )
    paid = client.patch(f"/api/admin/orders/{order['id']}/paid", json={}, headers=pat)
    assert error_of(paid, 403) == "token lacks scope payment:write"
    for method, path in (
        ("GET", "/api/auth/me"),
        ("GET", "/api/mod/orders"),
        ("GET", "/api/user/orders"),
        ("GET", "/api/admin/tokens"),
        ("POST", "/api/admin/tokens"),
    ):
        refused = client.request(method, path, json={}, headers=pat)
        assert error_of(refused, 403) == JWT_ONLY, path


def test_only_an_admin_session_manages_tokens(
    client: TestClient, admin: Account, customer: Account, moderator: Account
) -> None:
    everything = bearer(create(client, admin, permissions=list(SCOPES))["token"])
    routes = [
        ("GET", "/api/admin/tokens", None),
        ("POST", "/api/admin/tokens", {"name": "x", "permissions": ["orders:read"]}),
        ("PATCH", f"/api/admin/tokens/{UNKNOWN}/revoke", None),
        ("DELETE", f"/api/admin/tokens/{UNKNOWN}", None),
        ("POST", "/api/admin/tokens/bulk-revoke", {"ids": [UNKNOWN]}),
        ("POST", "/api/admin/tokens/bulk-delete", {"ids": [UNKNOWN]}),
    ]
    for method, path, body in routes:
        assert client.request(method, path, json=body).status_code == 401, path
        for account in (customer, moderator):
            error_of(client.request(method, path, json=body, headers=account.auth), 403)
        assert error_of(client.request(method, path, json=body, headers=everything), 403) == (
            JWT_ONLY
        )
    for path in ("/api/admin/tokens/logs", f"/api/admin/tokens/{UNKNOWN}/logs"):
        error_of(client.get(path, headers=moderator.auth), 403)


def test_creation_refuses_bad_input(client: TestClient, admin: Account) -> None:
    post = "/api/admin/tokens"
    cases = [
        ({"permissions": ["orders:read"]}, "name"),
        ({"name": "", "permissions": ["orders:read"]}, "name"),
        ({"name": "   ", "permissions": ["orders:read"]}, "name"),
        ({"name": "x" * 101, "permissions": ["orders:read"]}, "name"),
        ({"name": "x\x00", "permissions": ["orders:read"]}, "control"),
        ({"name": "x"}, "permissions"),
        ({"name": "x", "permissions": []}, "permissions"),
        ({"name": "x", "permissions": ["orders:delete"]}, "unknown scope 'orders:delete'"),
        ({"name": "x", "permissions": ["orders:read"], "expires_in_days": 0}, "expires_in_days"),
        ({"name": "x", "permissions": ["orders:read"], "expires_in_days": 3651}, "expires_in_days"),
    ]
    for body, word in cases:
        assert word in error_of(client.post(post, json=body, headers=admin.auth), 422), body


def test_every_pat_request_is_logged_newest_first(client: TestClient, admin: Account) -> None:
    made = create(client, admin, name="logger", permissions=["orders:read"])
    other = create(client, admin, name="quiet", permissions=["orders:read"])
    pat = bearer(made["token"])
    assert client.get("/api/admin/orders", headers=pat).status_code == 200
    assert client.get(f"/api/admin/orders/{UNKNOWN}", headers=pat).status_code == 404
    assert client.get("/api/admin/stats", headers=pat).status_code == 403
    assert client.get("/api/admin/orders", headers=admin.auth).status_code == 200  # a JWT: no

    mine = logs(client, admin, made["id"])
    assert [(e["method"], e["path"], e["status"]) for e in mine] == [
        ("GET", "/api/admin/stats", 403),
        ("GET", f"/api/admin/orders/{UNKNOWN}", 404),
        ("GET", "/api/admin/orders", 200),
    ]
    assert {(e["token_id"], e["token_name"], e["client_ip"]) for e in mine} == {
        (made["id"], "logger", "testclient")
    }
    assert [e["at"] for e in mine] == sorted((e["at"] for e in mine), reverse=True)
    assert logs(client, admin, other["id"]) == []
    everyone = logs(client, admin)
    assert everyone[:3] == mine and all(e["token_id"] != other["id"] for e in everyone)
    assert len(everyone) <= 500

    # admin:read reads the logs with a token too (and that request is logged in its turn).
    reader = create(client, admin, name="auditor", permissions=["admin:read"])
    seen = client.get(f"/api/admin/tokens/{made['id']}/logs", headers=bearer(reader["token"]))
    assert seen.status_code == 200 and seen.json()["logs"] == mine
    assert [e["path"] for e in logs(client, admin, reader["id"])] == [
        f"/api/admin/tokens/{made['id']}/logs"
    ]
    later = create(client, admin, name="later")  # its position follows the first uses
    used = listed(client, admin, later["position"])
    assert used[made["id"]]["first_used_at"] is not None
    assert used[made["id"]]["last_used_at"] == mine[0]["at"]
    assert used[other["id"]]["first_used_at"] is None and used[other["id"]]["last_used_at"] is None


def test_a_token_never_reaches_a_log_line(
    client: TestClient, admin: Account, capfd: pytest.CaptureFixture[str]
) -> None:
    token = create(client, admin)["token"]
    capfd.readouterr()
    client.get("/api/admin/orders", headers=bearer(token))
    client.get("/api/admin/stats", headers=bearer(token))
    client.get("/api/admin/orders", headers=bearer(token[:-1] + "0"))
    out, err = capfd.readouterr()
    assert "/api/admin/stats" in out + err  # the request log ran...
    assert token[3:] not in out + err and token[15:47] not in out + err  # ...without the token


def test_revoke_keeps_the_record_and_stops_the_token_at_once(
    client: TestClient, admin: Account
) -> None:
    made = create(client, admin)
    pat = bearer(made["token"])
    assert client.get("/api/admin/orders", headers=pat).status_code == 200

    revoked = client.patch(f"/api/admin/tokens/{made['id']}/revoke", headers=admin.auth)
    assert revoked.status_code == 200, revoked.text
    body = revoked.json()
    assert body["changed"] is True and body["token"]["status"] == "revoked"
    assert body["token"]["revoked_at"] is not None
    assert revoked.headers["X-Position"] == str(body["position"])
    assert error_of(client.get("/api/admin/orders", headers=pat), 401) == "token revoked"

    again = client.patch(f"/api/admin/tokens/{made['id']}/revoke", headers=admin.auth).json()
    assert again["changed"] is False and again["token"]["revoked_at"] == body["token"]["revoked_at"]
    kept = listed(client, admin, body["position"])[made["id"]]
    assert kept["status"] == "revoked" and kept["revoked_at"] == body["token"]["revoked_at"]
    assert len(logs(client, admin, made["id"])) == 1  # its log stays for the audit
    for bad in (UNKNOWN, "not-a-uuid"):
        error_of(client.patch(f"/api/admin/tokens/{bad}/revoke", headers=admin.auth), 404)


def test_delete_removes_the_token_and_its_logs(client: TestClient, admin: Account) -> None:
    made = create(client, admin)
    pat = bearer(made["token"])
    for _ in range(3):
        assert client.get("/api/admin/orders", headers=pat).status_code == 200
    assert len(logs(client, admin, made["id"])) == 3

    deleted = client.delete(f"/api/admin/tokens/{made['id']}", headers=admin.auth)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["deleted"] is True and deleted.json()["id"] == made["id"]
    assert error_of(client.get("/api/admin/orders", headers=pat), 401) == "invalid token"
    assert made["id"] not in listed(client, admin, deleted.json()["position"])
    error_of(client.get(f"/api/admin/tokens/{made['id']}/logs", headers=admin.auth), 404)
    assert all(e["token_id"] != made["id"] for e in logs(client, admin))
    error_of(client.delete(f"/api/admin/tokens/{made['id']}", headers=admin.auth), 404)
    error_of(client.patch(f"/api/admin/tokens/{made['id']}/revoke", headers=admin.auth), 404)
    for bad in (UNKNOWN, "not-a-uuid"):
        error_of(client.delete(f"/api/admin/tokens/{bad}", headers=admin.auth), 404)
        error_of(client.get(f"/api/admin/tokens/{bad}/logs", headers=admin.auth), 404)


def test_bulk_revoke_and_delete_answer_every_id(client: TestClient, admin: Account) -> None:
    one, two, three = (create(client, admin, name=f"bulk-{n}") for n in range(3))
    client.get("/api/admin/orders", headers=bearer(three["token"]))
    client.patch(f"/api/admin/tokens/{two['id']}/revoke", headers=admin.auth)

    ids = [one["id"], two["id"], UNKNOWN, "junk", one["id"]]
    revoked = client.post("/api/admin/tokens/bulk-revoke", json={"ids": ids}, headers=admin.auth)
    assert revoked.status_code == 200, revoked.text
    body = revoked.json()
    assert (body["revoked"], body["already_revoked"], body["not_found"]) == (
        [one["id"]],
        [two["id"]],
        [UNKNOWN, "junk"],
    )
    assert error_of(client.get("/api/admin/orders", headers=bearer(one["token"])), 401) == (
        "token revoked"
    )
    assert client.get("/api/admin/orders", headers=bearer(three["token"])).status_code == 200

    ids = [two["id"], three["id"], UNKNOWN]
    deleted = client.post("/api/admin/tokens/bulk-delete", json={"ids": ids}, headers=admin.auth)
    assert deleted.status_code == 200, deleted.text
    body = deleted.json()
    assert (body["deleted"], body["not_found"]) == ([two["id"], three["id"]], [UNKNOWN])
    remaining = listed(client, admin, body["position"])
    assert one["id"] in remaining and two["id"] not in remaining and three["id"] not in remaining
    assert all(e["token_id"] != three["id"] for e in logs(client, admin))
    error_of(client.get("/api/admin/orders", headers=bearer(three["token"])), 401)

    for path in ("/api/admin/tokens/bulk-revoke", "/api/admin/tokens/bulk-delete"):
        for ids in ([], [UNKNOWN] * 101):
            error_of(client.post(path, json={"ids": ids}, headers=admin.auth), 422)
        ok = client.post(path, json={"ids": [UNKNOWN] * 100}, headers=admin.auth)
        assert ok.status_code == 200 and ok.json()["not_found"] == [UNKNOWN]


def test_refused_tokens_say_why(client: TestClient, admin: Account) -> None:
    made = create(client, admin)
    token = made["token"]
    container = client.app.state.container  # type: ignore[attr-defined]
    lookups: list[str] = []
    real_state = container.access_tokens._state

    def counted(public_id: str) -> Any:
        lookups.append(public_id)
        return real_state(public_id)

    container.access_tokens._state = counted
    try:
        malformed = ["pf_", "pf_short", token + "0", token[:-1] + "-", "pf_" + "=" * 50]
        for raw in malformed:
            message = error_of(client.get("/api/admin/orders", headers=bearer(raw)), 401)
            assert message == "malformed personal access token", raw
        typo = token[:20] + ("A" if token[20] != "A" else "B") + token[21:]
        assert error_of(client.get("/api/admin/orders", headers=bearer(typo)), 401) == (
            "invalid token"
        )
        assert lookups == []  # none of these reached the store (or the cache)

        unknown = format_token("unknownid000", "s" * 32)  # well-formed, valid checksum
        wrong_secret = format_token(token[3:15], "s" * 32)  # a real id, another secret
        for raw in (unknown, wrong_secret):
            answer = client.get("/api/admin/orders", headers=bearer(raw))
            assert error_of(answer, 401) == "invalid token"
            assert answer.headers["WWW-Authenticate"] == "Bearer"
        assert len(lookups) == 2
    finally:
        del container.access_tokens._state

    past = datetime(2020, 1, 1, tzinfo=UTC)  # issued long ago for one day: expired since
    owner = container.identity.get_user(UUID(admin.id))
    expired = container.access_tokens.issue(
        owner=owner,
        name="old",
        description="",
        scopes=["orders:read"],
        expires_in_days=1,
        actor="test",
        now=past,
    )
    answer = client.get("/api/admin/orders", headers=bearer(expired.plaintext))
    assert error_of(answer, 401) == "token expired"
    shown = listed(client, admin, expired.position)[str(expired.token.id)]
    assert shown["status"] == "expired" and shown["expires_at"].startswith("2020-01-02")


@pytest.fixture
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with running_app(app_settings(tmp_path_factory.mktemp("pats"))) as running:
        yield running


def test_a_deactivated_or_demoted_owner_s_tokens_stop_at_once(fresh: TestClient) -> None:
    boss = staff(fresh, "admin", "boss")
    owner = staff(fresh, "admin", "owner")
    made = create(fresh, owner, permissions=["orders:read"])
    pat = bearer(made["token"])
    # The users view names the other admin (the last-admin rule reads it) before any change.
    users = fresh.get("/api/admin/users", headers={**boss.auth, **after(made["position"])})
    users_before = users.json()["total"]
    assert fresh.get("/api/admin/orders", headers=pat).status_code == 200

    off = fresh.patch(f"/api/admin/users/{owner.id}", json={"is_active": False}, headers=boss.auth)
    assert off.status_code == 200, off.text
    message = error_of(fresh.get("/api/admin/orders", headers=pat), 401)
    assert message == "token owner is no longer an active admin"
    # Tokens are no users: the users view does not list them.
    users = fresh.get("/api/admin/users", headers={**boss.auth, **after(off.json()["position"])})
    assert users.json()["total"] == users_before

    # A PAT works while its owner is an active admin: reactivation brings back the tokens
    # nobody revoked; a demotion stops them again, at once.
    on = fresh.patch(f"/api/admin/users/{owner.id}", json={"is_active": True}, headers=boss.auth)
    assert on.status_code == 200
    assert fresh.get("/api/admin/orders", headers=pat).status_code == 200
    down = fresh.patch(
        f"/api/admin/users/{owner.id}", json={"role": "moderator"}, headers=boss.auth
    )
    assert down.status_code == 200
    assert error_of(fresh.get("/api/admin/orders", headers=pat), 401) == (
        "token owner is no longer an active admin"
    )
    assert error_of(fresh.get("/api/mod/orders", headers=pat), 401)


def test_a_revocation_reaches_another_process_within_the_cache_bound(fresh: TestClient) -> None:
    boss = staff(fresh, "admin", "boss")
    made = create(fresh, boss, permissions=list(SCOPES))
    pat = bearer(made["token"])
    data_dir = fresh.app.state.container.settings.data_dir  # type: ignore[attr-defined]
    with running_app(app_settings(data_dir)) as other:
        assert other.get("/api/admin/orders", headers=pat).status_code == 200  # now cached
        revoked = fresh.patch(f"/api/admin/tokens/{made['id']}/revoke", headers=boss.auth)
        assert revoked.status_code == 200
        started = time.monotonic()
        assert error_of(fresh.get("/api/admin/orders", headers=pat), 401) == "token revoked"
        while other.get("/api/admin/orders", headers=pat).status_code == 200:
            assert time.monotonic() - started < CACHE_SECONDS + 1.0, "still accepted"
            time.sleep(0.05)
        assert error_of(other.get("/api/admin/orders", headers=pat), 401) == "token revoked"
        assert time.monotonic() - started <= 5.0
