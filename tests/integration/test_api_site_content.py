"""Story: an admin fills in the store profile and the about page section by section; every
change is an event naming the admin and the previous value, a bad value changes nothing,
and the storefront reads its branding from public endpoints that show nothing else."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.support.http import Account, error_of

ADMIN_READ_ROUTES = ("/api/admin/site-info", "/api/admin/company-info")
ADMIN_JWT_ROUTES = (
    ("GET", "/api/admin/about-info"),
    ("POST", "/api/admin/about-info"),
    ("POST", "/api/admin/company-info"),
)
PUBLIC_ROUTES = ("/api/public/site-info", "/api/public/about-info")
SELLER = {
    "legal_name": "Print Hub Private Limited",
    "address": "Plot 4, MIDC\nPune",
    "state_code": "27",
    "gstin": None,
}


def history(client: TestClient, admin: Account) -> list[dict[str, Any]]:
    response = client.get("/api/admin/settings/history", headers=admin.auth)
    assert response.status_code == 200, response.text
    return list(response.json()["changes"])


def post(client: TestClient, who: Account, section: str, body: Any) -> httpx.Response:
    return client.post(f"/api/admin/{section}", headers=who.auth, json=body)


@pytest.fixture(scope="module")
def pats(client: TestClient, admin: Account) -> dict[str, dict[str, str]]:
    """A token with admin:read, and one with every other scope."""
    made = {}
    for name, scopes in (
        ("admin:read", ["admin:read"]),
        ("others", ["orders:read", "orders:write", "payment:write", "catalog:read"]),
    ):
        response = client.post(
            "/api/admin/tokens", headers=admin.auth, json={"name": name, "permissions": scopes}
        )
        assert response.status_code == 201, response.text
        made[name] = {"Authorization": f"Bearer {response.json()['token']}"}
    return made


def test_the_storefront_is_branded_by_default_without_signing_in(client: TestClient) -> None:
    site = client.get("/api/public/site-info")
    assert site.status_code == 200, site.text
    assert site.headers["cache-control"] == "public, max-age=60"
    body = site.json()
    assert body["shop_name"] == "fabledger" and body["currency"] == "INR"
    assert body["logo_url"] is None and body["social_links"] == {}
    assert body["upi"] == {"enabled": False, "vpa": None, "payee_name": "fabledger"}
    assert body["upload_formats"] == ["stl", "obj", "3mf"]
    about = client.get("/api/public/about-info").json()
    assert [card["title"] for card in about["cards"]] == [
        "Students & Makers",
        "Personalised Gifting",
        "Repair & Replace",
    ]
    assert about["hero"]["cta_text"] and about["stats"] == []


def test_company_info_is_written_in_bulk_each_key_its_own_event(
    client: TestClient, admin: Account
) -> None:
    before = len(history(client, admin))
    body = {
        "company_info": {"name": "  Print Hub ", "logo_url": "/static/logo.png"},
        "contact_details": {"email": "Hello@PrintHub.example", "whatsapp": "98765 43210"},
        "address": {"line1": "Plot 4, MIDC", "city": "Pune", "state": "MH", "pin": "411019"},
        "legal": {"pan": "aaacp1234c"},
        "invoice_seller": SELLER,
        "upi_vpa": "printhub@okicici",
        "upi_payee_name": "Print Hub",
        "social_links": {"instagram": "https://instagram.com/printhub"},
    }
    saved = post(client, admin, "company-info", body)
    assert saved.status_code == 200, saved.text
    answer = saved.json()
    assert saved.headers["X-Position"] == str(answer["position"])
    assert [change["key"] for change in answer["changes"]] == list(body)
    settings = answer["settings"]
    assert settings["company_info"] == {
        "name": "Print Hub",
        "tagline": "3D printing on demand",
        "logo_url": "/static/logo.png",
    }
    assert settings["address"]["state"] == "MAHARASHTRA"
    assert settings["legal"] == {"cin": "", "pan": "AAACP1234C"}
    assert client.get("/api/admin/company-info", headers=admin.auth).json() == settings

    changes = history(client, admin)[before:]
    assert [c["key"] for c in changes] == list(body)
    assert {c["actor"] for c in changes} == {f"admin:{admin.id}"}
    named = {c["key"]: c for c in changes}
    assert named["company_info"]["previous"]["name"] == "fabledger"
    assert named["upi_vpa"]["previous"] is None and named["upi_vpa"]["value"] == "printhub@okicici"

    # Posting the same values again changes nothing and writes no event.
    again = post(client, admin, "company-info", body).json()
    assert again["changes"] == [] and len(history(client, admin)) == before + len(body)

    public = client.get("/api/public/site-info").json()
    assert public["shop_name"] == "Print Hub" and public["logo_url"] == "/static/logo.png"
    assert public["upi"] == {"enabled": True, "vpa": "printhub@okicici", "payee_name": "Print Hub"}
    assert public["social_links"] == {"instagram": "https://instagram.com/printhub"}
    assert public["contact"]["email"] == "hello@printhub.example"
    # Pages name the shop as the store profile does.
    seo = client.get("/api/seo/site").json()
    assert seo["open_graph"]["og:site_name"] == "Print Hub"


def test_one_bad_value_in_a_bulk_write_changes_nothing(client: TestClient, admin: Account) -> None:
    before = client.get("/api/admin/about-info", headers=admin.auth).json()
    count = len(history(client, admin))
    body = {
        "about_hero": {"title": "We print what you imagine"},  # fine on its own
        "about_cards": {"repair_replace": {"enabled": False, "title": ""}},
    }
    message = error_of(post(client, admin, "about-info", body), 422)
    assert message == "about_cards: repair_replace: title: must not be blank"
    bad_vpa = {"company_info": {"name": "Renamed"}, "upi_vpa": "not a vpa"}
    assert error_of(post(client, admin, "company-info", bad_vpa), 422).startswith("upi_vpa:")
    gstin = {**SELLER, "gstin": "27AAACP1234C1Z0"}  # a wrong check character
    wrong = error_of(post(client, admin, "company-info", {"invoice_seller": gstin}), 422)
    assert wrong.startswith("invoice_seller: gstin:"), wrong
    # A key of another section, an unknown key, nothing at all: refused before any check.
    assert "about_hero" in error_of(post(client, admin, "company-info", {"about_hero": {}}), 422)
    error_of(post(client, admin, "about-info", {"about_heroes": {}}), 422)
    error_of(post(client, admin, "about-info", {}), 422)
    error_of(post(client, admin, "about-info", [1]), 422)

    assert client.get("/api/admin/about-info", headers=admin.auth).json() == before
    assert len(history(client, admin)) == count
    assert client.get("/api/public/site-info").json()["shop_name"] != "Renamed"


def test_the_about_page_shows_the_cards_switched_on(client: TestClient, admin: Account) -> None:
    body = {
        "about_stats": [{"label": "Parts printed", "value": "12,000+"}],
        "about_story": {"story": "Started in a dorm room.\n\nStill printing.", "mission": "Print"},
        "about_cards": {"personalised_gifting": {"enabled": False}},
    }
    saved = post(client, admin, "about-info", body)
    assert saved.status_code == 200, saved.text
    about = client.get("/api/public/about-info").json()
    assert [card["id"] for card in about["cards"]] == ["students_makers", "repair_replace"]
    assert about["stats"] == body["about_stats"]
    assert about["story"] == "Started in a dorm room.\n\nStill printing."
    assert about["mission"] == "Print"
    # Every setting is also a key of GET /api/admin/settings, changed by PUT like any other.
    listed = client.get("/api/admin/settings", headers=admin.auth).json()["settings"]
    assert listed["about_stats"]["value"] == body["about_stats"]
    put = client.put(
        "/api/admin/settings/viewer", headers=admin.auth, json={"value": {"default_color": "#ff0"}}
    )
    assert error_of(put, 422).startswith("viewer: default_color")


def test_public_answers_never_carry_secrets_or_staff_settings(
    client: TestClient, admin: Account
) -> None:
    mail = {
        "driver": "smtp",
        "host": "smtp.example.com",
        "port": 587,
        "user": "shop@example.com",
        "password": "never-shown-app-password",
        "from_address": "shop@example.com",
    }
    put = client.put("/api/admin/settings/mail_delivery", headers=admin.auth, json={"value": mail})
    assert put.status_code == 200, put.text
    seller = {**SELLER, "legal_name": "Secretive Holdings Private Limited"}
    assert post(client, admin, "company-info", {"invoice_seller": seller}).status_code == 200
    site = client.get("/api/public/site-info").json()
    assert set(site) == {
        "shop_name",
        "tagline",
        "logo_url",
        "currency",
        "social_links",
        "upi",
        "contact",
        "address",
        "upload_formats",
        "viewer_default_color",
    }
    for answer in (site, client.get("/api/public/about-info").json()):
        text = json.dumps(answer)
        for hidden in ("never-shown-app-password", "smtp.example.com", "Secretive Holdings"):
            assert hidden not in text
        assert "password" not in text and "catalog_auto_approve" not in text
    # The admins' own views mask the password too.
    for path in ("/api/admin/site-info", "/api/admin/company-info", "/api/admin/settings"):
        assert "never-shown-app-password" not in client.get(path, headers=admin.auth).text


def test_who_may_read_and_write_the_site_content(
    client: TestClient,
    admin: Account,
    moderator: Account,
    customer: Account,
    pats: dict[str, dict[str, str]],
) -> None:
    def call(method: str, path: str, headers: dict[str, str]) -> httpx.Response:
        body: dict[str, Any] = {"about_hero": {}} if "about" in path else {"legal": {}}
        return client.request(
            method, path, headers=headers, json=body if method == "POST" else None
        )

    for path in PUBLIC_ROUTES:  # anyone, signed in or not
        for headers in ({}, customer.auth, moderator.auth, admin.auth):
            assert client.get(path, headers=headers).status_code == 200, path
    routes = [("GET", p) for p in ADMIN_READ_ROUTES] + list(ADMIN_JWT_ROUTES)
    for method, path in routes:
        assert error_of(call(method, path, {}), 401)
        assert error_of(call(method, path, customer.auth), 403) == "requires role: admin"
        assert error_of(call(method, path, moderator.auth), 403) == "requires role: admin"
        assert call(method, path, admin.auth).status_code == 200, path
    for path in ADMIN_READ_ROUTES:
        assert client.get(path, headers=pats["admin:read"]).status_code == 200, path
        refused = error_of(client.get(path, headers=pats["others"]), 403)
        assert refused == "token lacks scope admin:read"
    for method, path in ADMIN_JWT_ROUTES:
        for token in pats.values():
            assert "JWT only" in error_of(call(method, path, token), 403), (method, path)
