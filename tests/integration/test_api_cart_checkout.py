"""Story: a customer fills a cart with uploads and catalog models and checks it out as one
group of orders; a retry returns the same group; a bad item refuses the whole cart, naming
it; the customer sees their group, staff see any group, and nobody else sees one.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.support.catalog_models import new_category, upload_model
from tests.support.http import CUBE_STL, Account, after, error_of, register, upload

CART = "/api/cart-checkout"
UNKNOWN = "00000000-0000-4000-8000-000000000000"
SHIPPING = {
    "shipping_name": "Asha Rao",
    "shipping_phone": "+91 98450 00000",
    "shipping_address": "12 MG Road",
    "shipping_city": "New Delhi",
    "shipping_state": "Delhi",
    "shipping_zip": "110001",
}


def paise(rupees: float) -> int:
    return int(Decimal(str(rupees)) * 100)


def session_of(client: TestClient, account: Account, data: bytes = CUBE_STL) -> str:
    response = upload(client, account, "part.stl", data)
    assert response.status_code == 201, response.text
    return str(response.json()["session_id"])


def check_out(
    client: TestClient,
    account: Account,
    items: list[dict[str, Any]],
    key: str | None = None,
    **shared: Any,
) -> httpx.Response:
    """POST /api/cart-checkout (JSON), pickup unless told otherwise."""
    headers = dict(account.auth)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(CART, headers=headers, json={"items": items, **shared})


@pytest.fixture(scope="module")
def sessions(client: TestClient, customer: Account) -> list[str]:
    """Two of the customer's uploads."""
    return [session_of(client, customer), session_of(client, customer)]


@pytest.fixture(scope="module")
def placed(client: TestClient, customer: Account, sessions: list[str]) -> dict[str, Any]:
    """A shipping cart of three items, answered 201."""
    items = [
        {"session_id": sessions[0], "material": "PLA", "qty": 2, "infill": 20},
        {"session_id": sessions[1], "material": "PETG", "color": "", "qty": 1},
        {"session_id": sessions[0], "material": "PLA", "qty": 1, "infill": 40},
    ]
    response = check_out(client, customer, items, fulfillment="shipping", **SHIPPING)
    assert response.status_code == 201, response.text
    assert response.headers["X-Position"] == str(response.json()["position"])
    return dict(response.json())


def test_a_cart_becomes_a_group_of_orders_with_one_shipping_charge(
    placed: dict[str, Any],
) -> None:
    orders = placed["orders"]
    assert len(orders) == 3
    assert {o["group_id"] for o in orders} == {placed["group_id"]}
    assert [(o["material"], o["quantity"], o["infill"]) for o in orders] == [
        ("PLA", 2, 20),
        ("PETG", 1, 20),
        ("PLA", 1, 40),
    ]
    assert all(o["status"] == "pending" and o["fulfillment"] == "shipping" for o in orders)
    assert all(o["shipping_address"]["zip"] == "110001" for o in orders)
    shipping = [o["price"]["shipping"] for o in orders]
    assert shipping[0] > 0 and shipping[1:] == [0, 0]
    assert paise(placed["total"]) == sum(paise(o["price"]["total"]) for o in orders)


def test_the_same_idempotency_key_returns_the_same_group(
    client: TestClient, customer: Account, sessions: list[str]
) -> None:
    items = [{"session_id": s, "material": "PLA"} for s in sessions]

    first = check_out(client, customer, items, key="cart-41")
    retry = check_out(client, customer, items, key="cart-41")
    changed = check_out(client, customer, [*items, items[0]], key="cart-41")

    assert first.status_code == 201, first.text
    assert retry.status_code == 200, retry.text
    assert retry.json()["group_id"] == first.json()["group_id"]
    assert [o["id"] for o in retry.json()["orders"]] == [o["id"] for o in first.json()["orders"]]
    assert "Idempotency-Key" in error_of(changed, 409)
    error_of(check_out(client, customer, items, key="x" * 300), 422)


def test_a_bad_item_refuses_the_whole_cart_naming_it(
    client: TestClient, customer: Account, rival: Account, sessions: list[str], admin: Account
) -> None:
    good = {"session_id": sessions[0], "material": "PLA"}
    theirs = session_of(client, rival)
    before = client.get("/api/user/orders?limit=100", headers=customer.auth).json()["total"]

    bad_items: list[tuple[dict[str, Any], int, str]] = [
        ({**good, "material": "Unobtainium"}, 422, "unknown material"),
        ({**good, "qty": 0}, 422, "quantity"),
        ({**good, "infill": 101}, 422, "infill"),
        ({**good, "session_id": theirs}, 404, "upload session not found"),
        ({**good, "session_id": "x" * 32}, 404, "upload session not found"),
        ({"material": "PLA"}, 422, "one of session_id or catalog_model_id"),
        ({**good, "catalog_model_id": UNKNOWN}, 422, "one of session_id or catalog_model_id"),
        ({"catalog_model_id": UNKNOWN, "material": "PLA"}, 404, "catalog model not found"),
    ]
    for bad, status, reason in bad_items:
        message = error_of(check_out(client, customer, [good, good, good, bad]), status)
        assert message.startswith("items[3]: ") and reason in message, message

    assert "items" in error_of(check_out(client, customer, []), 422)
    assert "items" in error_of(check_out(client, customer, [good] * 51), 422)
    assert "material" in error_of(check_out(client, customer, [{"session_id": "s"}]), 422)
    no_zip = check_out(client, customer, [good], fulfillment="shipping")
    assert "shipping" in error_of(no_zip, 422)
    after_all = client.get("/api/user/orders?limit=100", headers=customer.auth).json()["total"]
    assert after_all == before  # nothing placed


def test_a_cart_mixes_catalog_models_and_uploads_and_takes_a_coupon(
    client: TestClient, customer: Account, admin: Account, sessions: list[str]
) -> None:
    cup = upload_model(client, admin, new_category(client, admin, "Cart"), price="149.50")
    coupon = {"code": "CART10", "percent_off": 10}
    assert client.post("/api/admin/coupons", json=coupon, headers=admin.auth).status_code == 201
    items = [
        {"catalog_model_id": cup["id"], "material": "PLA", "qty": 2},
        {"session_id": sessions[0], "material": "PLA"},
    ]

    response = check_out(client, customer, items, coupon_code="cart10")

    assert response.status_code == 201, response.text
    ordered, uploaded = response.json()["orders"]
    assert ordered["model"]["catalog_model_id"] == cup["id"]
    assert ordered["price"]["coupon_code"] == uploaded["price"]["coupon_code"] == "CART10"
    discounts = [paise(o["price"]["discount"]) for o in (ordered, uploaded)]
    assert discounts[0] > discounts[1] > 0  # shared in proportion to each order's goods


def test_the_customer_sees_their_group_and_nobody_else_does(
    client: TestClient, customer: Account, rival: Account, placed: dict[str, Any]
) -> None:
    path = f"/api/user/orders/group/{placed['group_id']}"

    mine = client.get(path, headers={**customer.auth, **after(placed["position"])})

    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body["group_id"] == placed["group_id"]
    assert [o["id"] for o in body["orders"]] == [o["id"] for o in placed["orders"]]
    assert body["total"] == placed["total"]
    assert "customer_email" not in body["orders"][0]
    error_of(client.get(path, headers=rival.auth), 404)
    error_of(client.get(f"/api/user/orders/group/{UNKNOWN}", headers=customer.auth), 404)
    error_of(client.get("/api/user/orders/group/not-a-uuid", headers=customer.auth), 404)


@pytest.mark.parametrize("mount", ["admin", "mod"])
def test_staff_see_any_group_with_the_customers_address(
    client: TestClient,
    admin: Account,
    moderator: Account,
    customer: Account,
    placed: dict[str, Any],
    mount: str,
) -> None:
    path = f"/api/{mount}/orders/group/{placed['group_id']}"
    callers = [admin] if mount == "admin" else [moderator, admin]

    for caller in callers:
        response = client.get(path, headers={**caller.auth, **after(placed["position"])})
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["orders"]) == 3 and body["total"] == placed["total"]
        assert {o["customer_email"] for o in body["orders"]} == {customer.email}
    error_of(client.get(f"/api/{mount}/orders/group/{UNKNOWN}", headers=admin.auth), 404)


def test_who_may_check_out_and_read_groups(
    client: TestClient,
    admin: Account,
    customer: Account,
    moderator: Account,
    sessions: list[str],
    placed: dict[str, Any],
) -> None:
    group = placed["group_id"]
    items = [{"session_id": sessions[0], "material": "PLA"}]
    error_of(client.post(CART, json={"items": items}), 401)
    for mount in ("user", "admin", "mod"):
        error_of(client.get(f"/api/{mount}/orders/group/{group}"), 401)
    for mount in ("admin", "mod"):
        error_of(client.get(f"/api/{mount}/orders/group/{group}", headers=customer.auth), 403)
    error_of(client.get(f"/api/admin/orders/group/{group}", headers=moderator.auth), 403)

    tokens = {}
    for scopes in (["catalog:read"], ["orders:read"]):
        made = client.post(
            "/api/admin/tokens",
            json={"name": f"group {scopes[0]}", "permissions": scopes},
            headers=admin.auth,
        )
        assert made.status_code == 201, made.text
        tokens[scopes[0]] = {"Authorization": f"Bearer {made.json()['token']}"}
    admin_path = f"/api/admin/orders/group/{group}"
    assert error_of(client.get(admin_path, headers=tokens["catalog:read"]), 403) == (
        "token lacks scope orders:read"
    )
    assert client.get(admin_path, headers=tokens["orders:read"]).status_code == 200
    assert "JWT only" in error_of(
        client.get(f"/api/mod/orders/group/{group}", headers=tokens["orders:read"]), 403
    )
    assert "JWT only" in error_of(
        client.post(CART, json={"items": items}, headers=tokens["orders:read"]), 403
    )


def test_an_unverified_customer_waits_when_the_shop_requires_verification(
    client: TestClient, admin: Account, sessions: list[str]
) -> None:
    newcomer = register(client, "cart-newcomer")
    items = [{"session_id": session_of(client, newcomer), "material": "PLA"}]
    setting = "/api/admin/settings/email_verification_required"
    assert client.put(setting, headers=admin.auth, json={"value": True}).status_code == 200
    try:
        assert "verify your e-mail" in error_of(check_out(client, newcomer, items), 403)
    finally:
        client.put(setting, headers=admin.auth, json={"value": False})
    assert check_out(client, newcomer, items).status_code == 201
