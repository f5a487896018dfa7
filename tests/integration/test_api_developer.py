"""Story: a developer signs up an organisation, gets keys and calls the developer API.

The seeds' texts, headers and prefixes are checked word for word.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import trimesh
from fastapi.testclient import TestClient

from domain.api_key_format import format_key
from domain.catalog import DEFAULT_PRINTER
from domain.plans import ANALYZE
from tests.support.http import (
    CUBE_STL,
    Account,
    app_settings,
    error_of,
    register,
    running_app,
    staff,
)

QUOTE_BODY = {
    "dim_x_mm": 20,
    "dim_y_mm": 20,
    "dim_z_mm": 20,
    "volume_cm3": 8,
    "material": "PLA",
    "quantity": 1,
    "fulfillment": "pickup",
    "infill": 20,
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with running_app(app_settings(tmp_path_factory.mktemp("developer"))) as running:
        yield running


@pytest.fixture(scope="module")
def owner(client: TestClient) -> Account:
    return register(client, "devowner")


def new_org(client: TestClient, owner: Account) -> str:
    response = client.post("/api/orgs", json={"name": "Acme Robotics"}, headers=owner.auth)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def new_key(client: TestClient, owner: Account, org_id: str, name: str = "ci") -> dict[str, Any]:
    response = client.post(f"/api/orgs/{org_id}/keys", json={"name": name}, headers=owner.auth)
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.fixture(scope="module")
def org_id(client: TestClient, owner: Account) -> str:
    return new_org(client, owner)


@pytest.fixture(scope="module")
def key(client: TestClient, owner: Account, org_id: str) -> dict[str, Any]:
    return new_key(client, owner, org_id)


def test_a_new_key_is_shown_once_in_both_styles(key: dict[str, Any]) -> None:
    assert key["apiKey"].startswith("dm_live_")
    assert key["clientId"].startswith("dmc_")
    assert key["keyLastFour"] == key["clientSecret"][-12:-8]


@pytest.mark.parametrize(
    ("headers", "status", "message"),
    [
        ({}, 401, "Missing X-API-Key header."),
        ({"X-API-Key": "sk_live_abc"}, 401, "Invalid API key format."),
        ({"X-API-Key": "dm_live_short"}, 401, "Invalid API key format."),
        ({"X-API-Key": "dm_live_" + "0" * 60}, 401, "Invalid API key."),  # bad checksum
        ({"X-API-Key": format_key("a1b2c3d4e5f6", "0" * 40)}, 401, "Invalid API key."),
        ({"x-metal-client-id": "dmc_a1b2c3d4e5f6"}, 401, "invalid api key or clientId"),
        ({"x-metal-api-key": "0" * 48}, 401, "invalid api key or clientId"),
    ],
)
def test_every_refusal_uses_the_seed_text(
    client: TestClient, headers: dict[str, str], status: int, message: str
) -> None:
    assert error_of(client.get("/api/v1/materials", headers=headers), status) == message


def test_both_styles_authenticate_and_a_revoked_key_stops_at_once(
    client: TestClient, owner: Account, org_id: str
) -> None:
    issued = new_key(client, owner, org_id, "short-lived")
    single = {"X-API-Key": issued["apiKey"]}
    pair = {"x-metal-client-id": issued["clientId"], "x-metal-api-key": issued["clientSecret"]}
    assert client.get("/api/v1/materials", headers=single).status_code == 200
    assert client.get("/api/v1/materials", headers=pair).status_code == 200
    secret = issued["clientSecret"]
    wrong_pair = {**pair, "x-metal-api-key": secret[:-1] + ("1" if secret[-1] == "0" else "0")}
    assert error_of(client.get("/api/v1/materials", headers=wrong_pair), 401) == (
        "invalid api key or clientId"
    )

    revoked = client.delete(f"/api/v1/keys/{issued['clientId']}", headers=single)
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    assert error_of(client.get("/api/v1/materials", headers=single), 401) == (
        "API key has been revoked."
    )
    assert error_of(client.get("/api/v1/materials", headers=pair), 401) == (
        "invalid api key or clientId"
    )


def test_keys_are_listed_without_secrets_and_limited_per_plan(
    client: TestClient, owner: Account
) -> None:
    org = new_org(client, owner)
    first = new_key(client, owner, org, "first")
    auth = {"X-API-Key": first["apiKey"]}
    second = client.post("/api/v1/keys", json={"name": "second"}, headers=auth)
    assert second.status_code == 201 and second.json()["apiKey"].startswith("dm_live_")
    assert "free plan allows 2" in error_of(
        client.post("/api/v1/keys", json={"name": "third"}, headers=auth), 409
    )
    listing = client.get("/api/v1/keys", headers=auth)
    body = listing.text
    assert [k["name"] for k in listing.json()["keys"]] == ["first", "second"]
    assert set(listing.json()["keys"][0]) >= {"name", "clientId", "keyLastFour", "created"}
    assert first["apiKey"] not in body and first["clientSecret"] not in body
    assert "secret" not in body.lower()


def test_the_developer_api_allows_any_origin(client: TestClient, key: dict[str, Any]) -> None:
    answer = client.get(
        "/api/v1/materials", headers={"X-API-Key": key["apiKey"], "Origin": "https://a.example"}
    )
    assert answer.headers["access-control-allow-origin"] == "*"
    refused = client.get("/api/v1/materials", headers={"Origin": "https://a.example"})
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == "*"
    preflight = client.options(
        "/api/v1/dfm/analyze",
        headers={
            "Origin": "https://a.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-api-key",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "x-api-key" in preflight.headers["access-control-allow-headers"]
    # The storefront API's CORS is a shop setting (test_api_network_security.py): off by
    # default, so the origin is echoed (never "*").
    storefront = client.get("/api/materials", headers={"Origin": "https://a.example"})
    assert storefront.headers["access-control-allow-origin"] == "https://a.example"


def test_quoting_is_unmetered(client: TestClient, key: dict[str, Any]) -> None:
    answer = client.post("/api/v1/quote", json=QUOTE_BODY, headers={"X-API-Key": key["apiKey"]})
    assert answer.status_code == 200 and answer.json()["quote"]["total"] > 0
    assert "x-ratelimit-limit" not in answer.headers
    materials = client.get("/api/v1/materials", headers={"X-API-Key": key["apiKey"]}).json()
    assert {m["name"] for m in materials["materials"]} >= {"PLA", "PETG", "ABS", "TPU"}


def test_metered_calls_carry_quota_headers_and_stop_at_the_free_cap(
    client: TestClient, owner: Account
) -> None:
    org = new_org(client, owner)
    auth = {"X-API-Key": new_key(client, owner, org)["apiKey"]}
    files = {"model_file": ("cube.stl", CUBE_STL, "application/octet-stream")}

    info = client.post("/api/v1/dfm/quick_info", files=files, headers=auth)
    assert info.status_code == 200, info.text
    assert info.json()["triangle_count"] == 12
    assert info.headers["x-ratelimit-limit"] == "1000"
    assert info.headers["x-ratelimit-remaining"] == "999"
    assert info.headers["x-billing-tier"] == "free"

    developer = client.app.state.container.developer  # type: ignore[attr-defined]
    for n in range(99):  # the other 99 analyze calls of the period, without the analysis cost
        developer.record_usage(org_id=org, product=ANALYZE, key_id="k", request_id=f"pre-{n}")
    last = client.post("/api/v1/dfm/analyze", files=files, headers=auth)
    assert last.status_code == 200, last.text
    assert last.headers["x-ratelimit-remaining"] == "0"
    assert "score" in last.json()

    refused = client.post("/api/v1/dfm/analyze", files=files, headers=auth)
    assert refused.status_code == 402
    assert refused.json()["error"] == "API quota exceeded for this billing period."
    assert refused.json()["upgrade_url"].endswith("/dashboard/api")
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert client.post("/api/v1/dfm/quick_info", files=files, headers=auth).status_code == 200

    # The usage view follows the log in the background: read it once it has every call.
    developer_log = client.app.state.container.developer  # type: ignore[attr-defined]
    usage = client.get(
        "/api/v1/usage", headers={**auth, "X-Min-Position": str(developer_log.position())}
    ).json()
    used = {m["product"]: m["used"] for m in usage["meters"]}
    assert usage["tier"] == "free" and used == {"analyze": 100, "quick_info": 2}


def test_paid_plans_need_billing_and_only_members_see_an_org(
    client: TestClient, owner: Account, org_id: str
) -> None:
    assert "billing" in error_of(
        client.patch(f"/api/orgs/{org_id}/plan", json={"plan": "pro"}, headers=owner.auth), 409
    )
    stranger = register(client, "stranger" + secrets.token_hex(3))
    assert client.get(f"/api/orgs/{org_id}", headers=stranger.auth).status_code == 404
    assert (
        client.post(f"/api/orgs/{org_id}/keys", json={"name": "x"}, headers=stranger.auth)
    ).status_code == 404


def test_analysis_judges_the_fit_on_every_active_printer_of_the_fleet(
    client: TestClient, owner: Account
) -> None:
    """Runs last in the module: it adds a printer to the shared app (and retires it again)."""
    admin = staff(client, "admin", "fleetboss")
    auth = {"X-API-Key": new_key(client, owner, new_org(client, owner))["apiKey"]}
    long_bar = trimesh.creation.box(extents=(300, 20, 20)).export(file_type="stl")
    files = {"model_file": ("bar.stl", long_bar, "application/octet-stream")}
    big = {
        "name": "Big Farm 400",
        "brand": "Acme",
        "materials": ["PLA"],
        "bed_x_mm": 400,
        "bed_y_mm": 400,
        "bed_z_mm": 400,
        "nozzle_mm": 0.4,
        "wattage_w": 300,
        "print_speed_cm3_hr": 30,
        "printer_pincode": "400001",
        "printer_address": "Unit 9, Fort, Mumbai",
    }
    added = client.post("/api/admin/printer-types", json=big, headers=admin.auth)
    assert added.status_code == 201, added.text

    report = client.post("/api/v1/dfm/analyze", files=files, headers=auth)

    assert report.status_code == 200, report.text
    fit = {f["printer"]: f["fits"] for f in report.json()["fit"]}
    assert fit == {DEFAULT_PRINTER.name: False, "Big Farm 400": True}

    printer_id = added.json()["printer"]["id"]
    retired = client.put(
        f"/api/admin/printer-types/{printer_id}", json={"active": False}, headers=admin.auth
    )
    assert retired.status_code == 200, retired.text
    again = client.post("/api/v1/dfm/analyze", files=files, headers=auth).json()
    assert [f["printer"] for f in again["fit"]] == [DEFAULT_PRINTER.name]


def test_the_document_lists_both_ways_to_present_a_key(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    headers = {name: schemes[name]["name"] for name in ("ApiKey", "MetalClientId", "MetalApiKey")}
    assert headers == {
        "ApiKey": "X-API-Key",
        "MetalClientId": "x-metal-client-id",
        "MetalApiKey": "x-metal-api-key",
    }
    for path, method in (("/api/v1/ping", "get"), ("/api/v1/dfm/quick_info", "post")):
        assert document["paths"][path][method]["security"] == [
            {"ApiKey": []},
            {"MetalClientId": [], "MetalApiKey": []},
        ]
