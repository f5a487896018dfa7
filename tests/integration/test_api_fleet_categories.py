"""Story: admins file catalog models under categories; moderators and the public read them.

Per the seed, only admins write categories (/api/admin/categories); moderators read them on
/api/mod/categories, and anyone on /api/categories, in display order.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.http import Account, error_of

ADMIN_PATH = "/api/admin/categories"


def _add(client: TestClient, admin: Account, **fields: Any) -> Any:
    body = {"name": "Gadgets", "icon": "🔧", "description": "Useful bits", **fields}
    response = client.post(ADMIN_PATH, json=body, headers=admin.auth)
    assert response.status_code == 201, response.text
    assert response.headers["X-Position"] == str(response.json()["position"])
    return response.json()["category"]


def test_categories_are_written_by_admins_and_read_by_everyone(
    client: TestClient, customer: Account, moderator: Account, admin: Account
) -> None:
    unknown = str(uuid.uuid4())
    writes = [
        ("POST", ADMIN_PATH, {"name": "Matrix"}),
        ("PUT", f"{ADMIN_PATH}/{unknown}", {"name": "Matrix 2"}),
        ("DELETE", f"{ADMIN_PATH}/{unknown}", None),
    ]
    for method, path, body in [("GET", ADMIN_PATH, None), *writes]:
        error_of(client.request(method, path, json=body), 401)
        error_of(client.request(method, path, json=body, headers=customer.auth), 403)
        error_of(client.request(method, path, json=body, headers=moderator.auth), 403)
        as_admin = client.request(method, path, json=body, headers=admin.auth)
        assert as_admin.status_code in (200, 201, 404), as_admin.text
    error_of(client.get("/api/mod/categories"), 401)
    error_of(client.get("/api/mod/categories", headers=customer.auth), 403)
    for who in (moderator, admin):
        assert client.get("/api/mod/categories", headers=who.auth).status_code == 200
    # Moderators have no write routes at all.
    for method in ("POST", "PUT", "DELETE"):
        response = client.request(method, "/api/mod/categories", json={}, headers=moderator.auth)
        assert response.status_code == 405, response.text
    assert client.get("/api/categories").status_code == 200


def test_categories_are_listed_in_display_order(
    client: TestClient, admin: Account, moderator: Account
) -> None:
    _add(client, admin, name="Zebra first", display_order=1)
    _add(client, admin, name="Alpha second", display_order=2)
    _add(client, admin, name="Also second", display_order=2)
    for path, who in (("/api/categories", None), ("/api/mod/categories", moderator)):
        listed = client.get(path, headers=who.auth if who else {}).json()["categories"]
        names = [c["name"] for c in listed]
        assert names.index("Zebra first") < names.index("Alpha second") < names.index("Also second")
    shown = next(c for c in listed if c["name"] == "Zebra first")
    assert set(shown) == {"id", "name", "icon", "description", "display_order"}


def test_a_category_is_changed_and_deleted(client: TestClient, admin: Account) -> None:
    added = _add(client, admin, name="Toys")
    path = f"{ADMIN_PATH}/{added['id']}"
    changed = client.put(path, json={"description": "For kids\nand adults"}, headers=admin.auth)
    assert changed.status_code == 200, changed.text
    assert changed.json()["category"]["name"] == "Toys"
    assert changed.json()["category"]["description"] == "For kids\nand adults"
    gone = client.delete(path, headers=admin.auth)
    assert gone.status_code == 200 and gone.json() == {**gone.json(), "deleted": True}
    assert "Toys" not in {c["name"] for c in client.get("/api/categories").json()["categories"]}
    error_of(client.delete(path, headers=admin.auth), 404)
    error_of(client.put(path, json={"name": "Back"}, headers=admin.auth), 404)
    assert _add(client, admin, name="Toys")["id"] != added["id"]  # the name is free again


def test_category_names_are_unique(client: TestClient, admin: Account) -> None:
    _add(client, admin, name="Home")
    error_of(client.post(ADMIN_PATH, json={"name": "HOME"}, headers=admin.auth), 409)
    other = _add(client, admin, name="Garden")
    path = f"{ADMIN_PATH}/{other['id']}"
    error_of(client.put(path, json={"name": "home"}, headers=admin.auth), 409)


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 61}, "name"),
        ({"name": "Ok", "icon": "x" * 41}, "icon"),
        ({"name": "Ok", "description": "x" * 501}, "description"),
        ({"name": "Ok", "display_order": -1}, "display_order"),
        ({"name": "Ok", "display_order": 1.5}, "display_order"),
        ({"name": "Ok", "display_order": 10_001}, "display_order"),
        ({"name": "Bad\x00name"}, "control characters"),
        ({}, "name"),
    ],
    ids=lambda v: str(v)[:30],
)
def test_a_category_with_impossible_values_is_refused_with_422(
    client: TestClient, admin: Account, body: dict[str, Any], complaint: str
) -> None:
    assert complaint in error_of(client.post(ADMIN_PATH, json=body, headers=admin.auth), 422)


@pytest.mark.parametrize("ref", ["nope", str(uuid.uuid4())])
def test_an_unknown_category_is_404(client: TestClient, admin: Account, ref: str) -> None:
    error_of(client.put(f"{ADMIN_PATH}/{ref}", json={"name": "x"}, headers=admin.auth), 404)
    error_of(client.delete(f"{ADMIN_PATH}/{ref}", headers=admin.auth), 404)
