"""Story: admins schedule promos and the homepage popup; the storefront shows what is live.

Admin routes are admin JWT only; GET /api/public/promos is open to everyone and answers
the one popup announcement live now (or null) and the live banners, by start.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.http import Account, app_settings, error_of, running_app, staff

PATH = "/api/admin/promos"
PUBLIC = "/api/public/promos"
NOW = datetime.now(UTC)
HOUR = timedelta(hours=1)


def iso(moment: datetime) -> str:
    return moment.isoformat()


def schedule(client: TestClient, admin: Account, text: str, **fields: Any) -> dict[str, Any]:
    response = client.post(PATH, json={"text": text, **fields}, headers=admin.auth)
    assert response.status_code == 201, response.text
    assert response.headers["X-Position"] == str(response.json()["position"])
    return dict(response.json()["promo"])


def texts(items: list[dict[str, Any]]) -> list[str]:
    return [item["text"] for item in items]


def test_promos_are_managed_by_admins_and_shown_to_everyone(
    client: TestClient, customer: Account, moderator: Account, admin: Account
) -> None:
    unknown = str(uuid.uuid4())
    routes = [
        ("GET", PATH, None),
        ("POST", PATH, {"text": "Roles"}),
        ("PATCH", f"{PATH}/{unknown}", {"text": "Roles 2"}),
        ("DELETE", f"{PATH}/{unknown}", None),
    ]
    token = client.post(
        "/api/admin/tokens",
        json={"name": "reader", "permissions": ["admin:read", "catalog:write"]},
        headers=admin.auth,
    ).json()["token"]
    for method, path, body in routes:
        error_of(client.request(method, path, json=body), 401)
        for who in (customer, moderator):
            refused = client.request(method, path, json=body, headers=who.auth)
            assert error_of(refused, 403) == "requires role: admin"
        as_pat = client.request(
            method, path, json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert "JWT only" in error_of(as_pat, 403)
        as_admin = client.request(method, path, json=body, headers=admin.auth)
        assert as_admin.status_code in (200, 201, 404), as_admin.text
    for headers in ({}, customer.auth, moderator.auth, admin.auth):
        assert client.get(PUBLIC, headers=headers).status_code == 200


def test_a_promo_is_scheduled_changed_and_deleted(client: TestClient, admin: Account) -> None:
    made = schedule(
        client,
        admin,
        "Free shipping this week",
        title="Shipping on us",
        link="/catalog",
        starts_at=iso(NOW - HOUR),
        ends_at=iso(NOW + 24 * HOUR),
    )
    assert made["placement"] == "banner" and made["active"] and made["showing"]
    assert made["title"] == "Shipping on us" and made["coupon_code"] is None
    assert "Free shipping this week" in texts(client.get(PUBLIC).json()["promos"])

    changed = client.patch(
        f"{PATH}/{made['id']}",
        json={"text": "Free shipping until Sunday", "ends_at": None},
        headers=admin.auth,
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["changed"] is True and body["promo"]["ends_at"] is None
    assert body["promo"]["title"] == "Shipping on us"  # left out: kept
    same = client.patch(f"{PATH}/{made['id']}", json={"title": None}, headers=admin.auth)
    assert same.json()["changed"] is False  # null keeps a field that cannot be cleared

    off = client.patch(f"{PATH}/{made['id']}", json={"active": False}, headers=admin.auth)
    assert off.json()["promo"]["showing"] is False
    assert "Free shipping until Sunday" not in texts(client.get(PUBLIC).json()["promos"])
    listed = client.get(PATH, headers=admin.auth).json()["promos"]
    assert made["id"] in [p["id"] for p in listed]

    deleted = client.delete(f"{PATH}/{made['id']}", headers=admin.auth)
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True
    assert made["id"] not in [
        p["id"] for p in client.get(PATH, headers=admin.auth).json()["promos"]
    ]
    error_of(client.patch(f"{PATH}/{made['id']}", json={"text": "x"}, headers=admin.auth), 404)
    error_of(client.delete(f"{PATH}/{made['id']}", headers=admin.auth), 404)


def test_a_promo_may_advertise_an_existing_coupon_only(client: TestClient, admin: Account) -> None:
    client.post(
        "/api/admin/coupons", json={"code": "PROMO-10", "percent_off": 10}, headers=admin.auth
    )
    made = schedule(client, admin, "Ten percent off", coupon_code="promo-10")
    assert made["coupon_code"] == "PROMO-10"
    for code in ("NO-SUCH", "bad code"):
        refused = client.post(PATH, json={"text": "x", "coupon_code": code}, headers=admin.auth)
        assert "coupon_code: unknown coupon" in error_of(refused, 422)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"text": ""}, "text"),
        ({"text": "x", "placement": "sidebar"}, "placement must be one of banner, popup"),
        ({"text": "x", "link": "javascript:alert(1)"}, "link must be an http(s) URL"),
        ({"text": "x", "starts_at": "2030-01-01T00:00:00"}, "starts_at must include a timezone"),
        (
            {"text": "x", "starts_at": iso(NOW + HOUR), "ends_at": iso(NOW)},
            "ends_at must be later than starts_at",
        ),
        ({"title": "no text"}, "text"),
    ],
)
def test_impossible_promos_are_refused_naming_the_field(
    client: TestClient, admin: Account, body: dict[str, Any], message: str
) -> None:
    assert message in error_of(client.post(PATH, json=body, headers=admin.auth), 422)


def test_unknown_promos_are_404_and_an_empty_change_422(client: TestClient, admin: Account) -> None:
    for ref in ("nope", str(uuid.uuid4())):
        error_of(client.patch(f"{PATH}/{ref}", json={"text": "x"}, headers=admin.auth), 404)
        error_of(client.delete(f"{PATH}/{ref}", headers=admin.auth), 404)
    made = schedule(client, admin, "Nothing to change")
    assert "at least one field" in error_of(
        client.patch(f"{PATH}/{made['id']}", json={}, headers=admin.auth), 422
    )


def test_the_storefront_shows_one_popup_and_the_live_banners(tmp_path: Path) -> None:
    with running_app(app_settings(tmp_path)) as client:
        admin = staff(client, "admin", "boss")
        assert client.get(PUBLIC).json() == {"popup": None, "promos": []}
        schedule(client, admin, "Old popup", placement="popup", starts_at=iso(NOW - 5 * HOUR))
        newer = schedule(
            client,
            admin,
            "Diwali popup",
            placement="popup",
            link="https://shop.example/diwali",
            starts_at=iso(NOW - HOUR),
            ends_at=iso(NOW + HOUR),
        )
        schedule(client, admin, "Next week", placement="popup", starts_at=iso(NOW + 48 * HOUR))
        schedule(client, admin, "Late banner", starts_at=iso(NOW - HOUR))
        schedule(client, admin, "Early banner", starts_at=iso(NOW - 3 * HOUR))
        schedule(client, admin, "Ended banner", ends_at=iso(NOW - HOUR))
        schedule(client, admin, "Off banner", active=False)

        shown = client.get(PUBLIC).json()
        assert shown["popup"]["text"] == "Diwali popup"
        assert shown["popup"]["link"] == "https://shop.example/diwali"
        assert set(shown["popup"]) == {
            "id",
            "title",
            "text",
            "link",
            "placement",
            "starts_at",
            "ends_at",
            "coupon_code",
        }
        assert texts(shown["promos"]) == ["Early banner", "Late banner"]

        # The newer popup withdrawn: the one it overrode shows again.
        client.delete(f"{PATH}/{newer['id']}", headers=admin.auth)
        assert client.get(PUBLIC).json()["popup"]["text"] == "Old popup"
        admin_view = {
            p["text"]: p["showing"] for p in client.get(PATH, headers=admin.auth).json()["promos"]
        }
        assert admin_view == {
            "Old popup": True,
            "Next week": False,
            "Late banner": True,
            "Early banner": True,
            "Ended banner": False,
            "Off banner": False,
        }
