"""Story: an admin reads and changes the cost engine, previews prices, and audits every version.

Only admins may: anonymous callers are 401, customers and moderators 403 (the seed keeps the
cost engine from moderators). Bad values are 422 naming the field, and change nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.http import Account, error_of, place_order

PREVIEW = {
    "material": "PLA",
    "volume_cm3": 8,
    "quantity": 2,
    "infill": 20,
    "wattage_w": 120,
    "fulfillment": "pickup",
    "priority_print": False,
}
ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/admin/cost-settings", None),
    ("PUT", "/api/admin/cost-settings", {"overhead_pct": 15}),
    ("GET", "/api/admin/cost-settings/versions", None),
    ("POST", "/api/admin/price-preview", PREVIEW),
]


def _call(client: TestClient, method: str, path: str, body: Any, who: Account | None) -> Any:
    headers = who.auth if who else {}
    return client.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_only_admins_reach_the_cost_engine(
    client: TestClient,
    customer: Account,
    moderator: Account,
    admin: Account,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    anonymous = _call(client, method, path, body, None)
    assert "bearer" in error_of(anonymous, 401).lower()
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert "admin" in error_of(_call(client, method, path, body, customer), 403)
    assert "admin" in error_of(_call(client, method, path, body, moderator), 403)
    allowed = _call(client, method, path, body, admin)
    assert allowed.status_code == 200, allowed.text


def test_an_admin_reads_the_current_settings_with_their_version(
    client: TestClient, admin: Account
) -> None:
    body = client.get("/api/admin/cost-settings", headers=admin.auth).json()

    assert body["version"] >= 1 and body["currency"] == "INR"
    assert body["gst_pct"] == 18.0 and body["display_printing_share_pct"] == 60.0
    assert body["setup_fee"] == 30.0 and body["electricity_rate_per_kwh"] == 8.0
    assert body["printer"]["wattage_w"] > 0
    assert {m["code"] for m in body["materials"]} >= {"PLA", "PETG"}
    assert body["changed_by"]


def test_a_change_is_a_new_version_and_new_orders_use_it_while_old_ones_keep_theirs(
    client: TestClient, admin: Account, customer: Account
) -> None:
    before = place_order(client, customer)
    current = client.get("/api/admin/cost-settings", headers=admin.auth).json()

    changed = client.put(
        "/api/admin/cost-settings",
        json={"setup_fee": 45.5, "margin_pct": 32.5},
        headers=admin.auth,
    )

    assert changed.status_code == 200, changed.text
    now = changed.json()
    assert now["version"] == current["version"] + 1
    assert (now["setup_fee"], now["margin_pct"]) == (45.5, 32.5)
    assert now["gst_pct"] == current["gst_pct"]  # left out: unchanged
    assert now["changed_by"] == f"admin:{admin.id}"
    after = place_order(client, customer)
    staff_view = client.get(f"/api/admin/orders/{after['id']}", headers=admin.auth).json()
    assert staff_view["settings_version"] == now["version"]
    assert staff_view["price"]["setup_fee"] == 45.5
    assert after["price"]["total"] > before["price"]["total"]
    old_view = client.get(f"/api/admin/orders/{before['id']}", headers=admin.auth).json()
    assert old_view["price"]["setup_fee"] == current["setup_fee"]

    versions = client.get("/api/admin/cost-settings/versions", headers=admin.auth).json()
    latest = versions["versions"][-1]
    assert latest["version"] == now["version"] and latest["changed_by"] == f"admin:{admin.id}"
    assert latest["changes"] == {
        "setup_fee": {"before": current["setup_fee"], "after": 45.5},
        "margin_pct": {"before": current["margin_pct"], "after": 32.5},
    }
    assert versions["versions"][0]["version"] == 1
    assert versions["versions"][0]["changed_by"] == "system:seed"
    same = client.put("/api/admin/cost-settings", json={"setup_fee": 45.5}, headers=admin.auth)
    assert same.json()["version"] == now["version"]  # nothing differs: no new version


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"gst_pct": 29}, "gst_pct"),
        ({"gst_pct": -1}, "gst_pct"),
        ({"margin_pct": 501}, "margin_pct"),
        ({"display_printing_share_pct": 100.5}, "display_printing_share_pct"),
        ({"setup_fee": 10.005}, "setup_fee"),
        ({"electricity_rate_per_kwh": "lots"}, "electricity_rate_per_kwh"),
        ({"overhead_pct": 12.345}, "overhead_pct"),
        ({}, "at least one"),
    ],
)
def test_bad_settings_are_422_naming_the_field_and_change_nothing(
    client: TestClient, admin: Account, body: dict[str, Any], field: str
) -> None:
    before = client.get("/api/admin/cost-settings", headers=admin.auth).json()

    refused = client.put("/api/admin/cost-settings", json=body, headers=admin.auth)

    assert field in error_of(refused, 422)
    assert client.get("/api/admin/cost-settings", headers=admin.auth).json() == before


def test_a_body_that_is_not_json_is_refused(client: TestClient, admin: Account) -> None:
    refused = client.put(
        "/api/admin/cost-settings",
        content=b"{not json",
        headers={**admin.auth, "content-type": "application/json"},
    )
    assert refused.status_code in (400, 422), refused.text
    error_of(refused, refused.status_code)


def test_a_preview_prices_like_a_quote_and_against_an_earlier_version(
    client: TestClient, admin: Account
) -> None:
    client.put("/api/admin/cost-settings", json={"priority_surcharge_pct": 50}, headers=admin.auth)
    current = client.get("/api/admin/cost-settings", headers=admin.auth).json()

    now = client.post("/api/admin/price-preview", json=PREVIEW, headers=admin.auth)
    first = client.post(
        "/api/admin/price-preview", json={**PREVIEW, "settings_version": 1}, headers=admin.auth
    )
    rush = client.post(
        "/api/admin/price-preview",
        json={**PREVIEW, "priority_print": True},
        headers=admin.auth,
    )

    assert now.status_code == 200, now.text
    preview = now.json()
    assert preview["settings_version"] == current["version"]
    assert first.json()["settings_version"] == 1
    assert preview["geometry"]["dim_x_mm"] == pytest.approx(20.0)
    price = preview["price"]
    assert price["shipping"] == 0 and "Shipping" in preview["note"]
    assert price["total"] == pytest.approx(price["pre_tax_total"] + price["gst"], abs=0.001)
    assert preview["customer_view"]["total"] == price["total"]
    assert "margin" not in preview["customer_view"]
    surcharge = rush.json()["price"]["priority_surcharge"]
    assert surcharge == pytest.approx(price["subtotal"] / 2, abs=0.006)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"material": "UNOBTAINIUM"}, "material"),
        ({"volume_cm3": 0}, "volume_cm3"),
        ({"volume_cm3": 50_000}, "does not fit"),
        ({"quantity": 0}, "quantity"),
        ({"infill": 101}, "infill"),
        ({"wattage_w": -5}, "wattage_w"),
        ({"fulfillment": "teleport"}, "fulfillment"),
        ({"settings_version": 999}, "settings_version"),
        ({"settings_version": 0}, "settings_version"),
        ({"dim_x_mm": 10}, "dim_x_mm"),
        ({"color": "Plaid"}, "Plaid"),
    ],
)
def test_bad_preview_inputs_are_422_naming_the_field(
    client: TestClient, admin: Account, change: dict[str, Any], field: str
) -> None:
    refused = client.post(
        "/api/admin/price-preview", json={**PREVIEW, **change}, headers=admin.auth
    )
    assert field in error_of(refused, 422)
