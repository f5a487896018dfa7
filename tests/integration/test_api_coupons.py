"""Story: admins create discount codes; customers see the discount in quotes and pay it at
checkout; every refusal says why; a cancelled unpaid order gives its use back.

The discount is its own line before GST: GST is charged on the discounted goods, shipping is
never discounted. Coupons are admin JWT only (no moderator, no personal access token).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.http import CUBE_STL, Account, after, checkout, error_of, register, upload

PATH = "/api/admin/coupons"
CUBE = {"dim_x_mm": 20, "dim_y_mm": 20, "dim_z_mm": 20, "volume_cm3": 8, "material": "PLA"}
NOW = datetime.now(UTC)
PAST, FUTURE = NOW - timedelta(days=30), NOW + timedelta(days=30)


def paise(rupees: float) -> int:
    return int(Decimal(str(rupees)) * 100)


def half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def create(client: TestClient, admin: Account, code: str, **fields: Any) -> dict[str, Any]:
    body = {"code": code, "percent_off": 10, **fields}
    response = client.post(PATH, json=body, headers=admin.auth)
    assert response.status_code == 201, response.text
    assert response.headers["X-Position"] == str(response.json()["position"])
    return dict(response.json()["coupon"])


def quote(client: TestClient, **fields: Any) -> Any:
    return client.post("/api/quote", json={**CUBE, "quantity": 2, **fields})


def session_of(client: TestClient, account: Account) -> str:
    response = upload(client, account, "cube.stl", CUBE_STL)
    assert response.status_code == 201, response.text
    return str(response.json()["session_id"])


def order(client: TestClient, account: Account, session: str, **fields: Any) -> Any:
    """A checkout of the uploaded cube (2 copies, pickup unless overridden)."""
    return checkout(client, account, model=None, session_id=session, **fields)


@pytest.fixture(scope="module")
def shopper(client: TestClient) -> tuple[Account, str]:
    account = register(client, "shopper")
    return account, session_of(client, account)


@pytest.fixture(scope="module")
def plain_quote(client: TestClient) -> dict[str, Any]:
    response = quote(client)
    assert response.status_code == 200, response.text
    return dict(response.json()["quote"])


# --- who may manage coupons ------------------------------------------------------------


def test_coupons_are_admin_only(
    client: TestClient, customer: Account, moderator: Account, admin: Account
) -> None:
    unknown = str(uuid.uuid4())
    routes = [
        ("GET", PATH, None),
        ("POST", PATH, {"code": "ROLES1", "percent_off": 5}),
        ("GET", f"{PATH}/{unknown}", None),
        ("PATCH", f"{PATH}/{unknown}", {"active": False}),
        ("DELETE", f"{PATH}/{unknown}", None),
    ]
    token = client.post(
        "/api/admin/tokens",
        json={"name": "all scopes", "permissions": ["admin:read", "catalog:write"]},
        headers=admin.auth,
    ).json()["token"]
    for method, path, body in routes:
        assert "missing bearer token" in error_of(client.request(method, path, json=body), 401)
        for who in (customer, moderator):
            refused = client.request(method, path, json=body, headers=who.auth)
            assert error_of(refused, 403) == "requires role: admin", (method, path)
        as_pat = client.request(
            method, path, json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert "JWT only" in error_of(as_pat, 403)
        as_admin = client.request(method, path, json=body, headers=admin.auth)
        assert as_admin.status_code in (200, 201, 404), as_admin.text
    assert not client.get("/api/mod/coupons", headers=moderator.auth).is_success


# --- admin CRUD ------------------------------------------------------------------------


def test_a_coupon_is_created_listed_changed_deactivated_and_deleted(
    client: TestClient, admin: Account
) -> None:
    made = create(
        client,
        admin,
        "welcome-15",
        percent_off=15,
        min_order_value=99.5,
        max_uses=100,
        max_uses_per_customer=2,
        valid_from=PAST.isoformat(),
        valid_to=FUTURE.isoformat(),
    )
    assert made["code"] == "WELCOME-15"  # case-insensitive, stored upper case
    assert made["percent_off"] == 15 and made["amount_off"] is None
    assert made["min_order_value"] == 99.5 and made["max_uses"] == 100
    assert made["max_uses_per_customer"] == 2 and made["uses"] == 0
    assert made["remaining_uses"] == 100 and made["discount_total"] == 0
    assert made["valid_from"] == PAST.isoformat() and made["active"] and not made["deleted"]

    changed = client.patch(
        f"{PATH}/{made['id']}", json={"amount_off": 120.25, "max_uses": None}, headers=admin.auth
    )
    assert changed.status_code == 200, changed.text
    coupon = changed.json()["coupon"]
    assert changed.json()["changed"] is True
    assert coupon["amount_off"] == 120.25 and coupon["percent_off"] is None  # one kind at a time
    assert coupon["max_uses"] is None and coupon["remaining_uses"] is None
    assert coupon["max_uses_per_customer"] == 2  # left out: kept

    same = client.patch(f"{PATH}/{made['id']}", json={"amount_off": 120.25}, headers=admin.auth)
    assert same.json()["changed"] is False

    off = client.patch(f"{PATH}/{made['id']}", json={"active": False}, headers=admin.auth)
    assert off.json()["coupon"]["active"] is False

    listed = client.get(
        PATH, params={"q": "welcome"}, headers={**admin.auth, **after(off.json()["position"])}
    )
    assert listed.status_code == 200, listed.text
    [row] = listed.json()["coupons"]
    assert row["id"] == made["id"] and row["active"] is False and row["amount_off"] == 120.25
    assert row["customers"] == 0 and listed.json()["total"] == 1

    deleted = client.delete(f"{PATH}/{made['id']}", headers=admin.auth)
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True
    wait = after(deleted.json()["position"])
    assert (
        client.get(PATH, params={"q": "WELCOME"}, headers={**admin.auth, **wait}).json()["total"]
        == 0
    )
    kept = client.get(
        PATH, params={"q": "WELCOME", "include_deleted": True}, headers={**admin.auth, **wait}
    ).json()["coupons"]
    assert [c["deleted"] for c in kept] == [True]
    detail = client.get(f"{PATH}/{made['id']}", headers=admin.auth).json()
    assert detail["deleted"] is True and detail["by_customer"] == []
    assert "deleted" in error_of(
        client.patch(f"{PATH}/{made['id']}", json={"active": True}, headers=admin.auth), 409
    )
    assert "deleted" in error_of(client.delete(f"{PATH}/{made['id']}", headers=admin.auth), 409)
    again = client.post(PATH, json={"code": "Welcome-15", "percent_off": 5}, headers=admin.auth)
    assert "already exists" in error_of(again, 409)


def test_codes_are_unique_in_any_case(client: TestClient, admin: Account) -> None:
    create(client, admin, "ONCE")
    twice = client.post(PATH, json={"code": "once", "percent_off": 5}, headers=admin.auth)
    assert error_of(twice, 409) == "coupon code 'ONCE' already exists (codes are never reused)"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"code": "BOTH1", "percent_off": 5, "amount_off": 10}, "exactly one of percent_off"),
        ({"code": "NONE1", "percent_off": None}, "exactly one of percent_off"),
        ({"code": "PCT1", "percent_off": 150}, "percent_off"),
        ({"code": "PCT2", "percent_off": 12.345}, "2 decimals"),
        ({"code": "AMT1", "amount_off": 10.001}, "whole paise"),
        ({"code": "bad code", "percent_off": 5}, "code: 3-32"),
        ({"code": "NAIVE1", "percent_off": 5, "valid_to": "2030-01-01T00:00:00"}, "timezone"),
        (
            {
                "code": "WINDOW1",
                "percent_off": 5,
                "valid_from": FUTURE.isoformat(),
                "valid_to": PAST.isoformat(),
            },
            "valid_to must be later than valid_from",
        ),
        ({"code": "USES1", "percent_off": 5, "max_uses": 0}, "max_uses"),
        ({"percent_off": 5}, "code"),
    ],
)
def test_impossible_coupons_are_refused_naming_the_field(
    client: TestClient, admin: Account, body: dict[str, Any], message: str
) -> None:
    assert message in error_of(client.post(PATH, json=body, headers=admin.auth), 422)


def test_unknown_or_malformed_ids_are_404_and_an_empty_change_422(
    client: TestClient, admin: Account
) -> None:
    for ref in ("nope", str(uuid.uuid4())):
        assert error_of(client.get(f"{PATH}/{ref}", headers=admin.auth), 404) == "coupon not found"
        error_of(client.patch(f"{PATH}/{ref}", json={"active": True}, headers=admin.auth), 404)
        error_of(client.delete(f"{PATH}/{ref}", headers=admin.auth), 404)
    made = create(client, admin, "EMPTY-PATCH")
    assert "at least one field" in error_of(
        client.patch(f"{PATH}/{made['id']}", json={}, headers=admin.auth), 422
    )


# --- the discount ----------------------------------------------------------------------


def test_a_percent_coupon_is_a_line_before_gst_to_the_paisa(
    client: TestClient, admin: Account, plain_quote: dict[str, Any]
) -> None:
    create(client, admin, "PCT-7-5", percent_off=7.5)
    discounted = quote(client, coupon_code="pct-7-5")
    assert discounted.status_code == 200, discounted.text
    price = discounted.json()["quote"]
    goods = paise(plain_quote["pre_tax_total"])  # no priority: the goods before GST
    off = half_up(Decimal(goods) * Decimal("7.5") / 100)
    gst = half_up(Decimal(goods - off) * Decimal("0.18"))
    assert paise(price["discount"]) == off and price["coupon_code"] == "PCT-7-5"
    assert paise(price["pre_tax_total"]) == goods - off
    assert paise(price["gst"]) == gst < paise(plain_quote["gst"])
    assert paise(price["total"]) == goods - off + gst + paise(price["shipping"])
    # The lines the customer sees add up: material + printing + priority - discount = taxable.
    lines = paise(price["material_cost"]) + paise(price["printing_cost"])
    assert lines + paise(price["priority_surcharge"]) - off == paise(price["pre_tax_total"])


def test_a_fixed_coupon_never_discounts_shipping_or_goes_below_zero(
    client: TestClient, admin: Account, plain_quote: dict[str, Any]
) -> None:
    create(client, admin, "FLAT-20", percent_off=None, amount_off=20)
    create(client, admin, "FLAT-HUGE", percent_off=None, amount_off=100_000)
    shipped = {
        "fulfillment": "shipping",
        "shipping_zip": "560001",
        "shipping_method": "india_post",
    }
    full = quote(client, **shipped).json()["quote"]
    price = quote(client, coupon_code="FLAT-20", **shipped).json()["quote"]
    assert price["discount"] == 20.0 and price["shipping"] == full["shipping"] > 0
    goods = paise(full["pre_tax_total"])
    assert paise(price["pre_tax_total"]) == goods - 2000
    assert paise(price["gst"]) == half_up(Decimal(goods - 2000) * Decimal("0.18"))
    free = quote(client, coupon_code="FLAT-HUGE", **shipped).json()["quote"]
    assert paise(free["discount"]) == goods and free["pre_tax_total"] == free["gst"] == 0
    assert free["total"] == full["shipping"]  # only the carrier is paid
    assert plain_quote["discount"] == 0 and plain_quote["coupon_code"] is None


def test_every_refusal_says_why_on_the_quote(
    client: TestClient, admin: Account, plain_quote: dict[str, Any]
) -> None:
    create(client, admin, "Q-OFF", active=False)
    create(client, admin, "Q-SOON", valid_from=FUTURE.isoformat())
    create(
        client,
        admin,
        "Q-OVER",
        valid_from=(PAST - timedelta(days=1)).isoformat(),
        valid_to=PAST.isoformat(),
    )
    create(client, admin, "Q-BIG", min_order_value=10_000)
    gone = create(client, admin, "Q-GONE")
    client.delete(f"{PATH}/{gone['id']}", headers=admin.auth)
    cases = {
        "Q-NEVER": "coupon_code: unknown coupon 'Q-NEVER'",
        "!!": "coupon_code: unknown coupon '!!'",
        "Q-GONE": "coupon_code: unknown coupon 'Q-GONE'",
        "Q-OFF": "coupon_code: coupon 'Q-OFF' is inactive",
        "Q-SOON": (
            f"coupon_code: coupon 'Q-SOON' is not yet valid; it starts on {FUTURE.isoformat()}"
        ),
        "Q-OVER": f"coupon_code: coupon 'Q-OVER' expired on {PAST.isoformat()}",
        "Q-BIG": (
            "coupon_code: coupon 'Q-BIG' needs a minimum order of ₹10000.00 before GST and"
            f" shipping; this order is ₹{Decimal(paise(plain_quote['pre_tax_total'])) / 100:.2f}"
        ),
    }
    for code, reason in cases.items():
        assert error_of(quote(client, coupon_code=code), 422) == reason
    assert "coupon_code" in error_of(quote(client, coupon_code=""), 422)


# --- checkout --------------------------------------------------------------------------


def test_checkout_redeems_the_coupon_with_the_order(
    client: TestClient, admin: Account, shopper: tuple[Account, str]
) -> None:
    account, session = shopper
    made = create(client, admin, "CHECKOUT-10", max_uses=5)
    expected = quote(client, coupon_code="checkout-10").json()["quote"]
    placed = order(client, account, session, coupon_code="checkout-10")
    assert placed.status_code == 201, placed.text
    price = placed.json()["order"]["price"]
    assert price["discount"] == expected["discount"] > 0 and price["total"] == expected["total"]
    assert price["coupon_code"] == "CHECKOUT-10"
    order_id = placed.json()["order"]["id"]
    staff_view = client.get(f"/api/admin/orders/{order_id}", headers=admin.auth).json()
    assert staff_view["price"]["discount"] == expected["discount"]
    mine = client.get(f"/api/user/orders/{order_id}", headers=account.auth).json()
    assert mine["price"]["discount"] == expected["discount"]

    detail = client.get(f"{PATH}/{made['id']}", headers=admin.auth).json()
    assert detail["uses"] == 1 and detail["remaining_uses"] == 4
    assert detail["by_customer"] == [
        {"customer_id": account.id, "uses": 1, "discount_total": expected["discount"]}
    ]
    wait = after(placed.json()["position"])
    [row] = client.get(PATH, params={"q": "CHECKOUT-10"}, headers={**admin.auth, **wait}).json()[
        "coupons"
    ]
    assert row["uses"] == 1 and row["customers"] == 1
    assert row["discount_total"] == expected["discount"]
    history = client.get(f"/api/admin/orders/{order_id}/history", headers=admin.auth).json()
    assert history["events"][0]["data"]["price"]["coupon"] == {
        "code": "CHECKOUT-10",
        "percent_off": "10",
    }


def test_a_retried_checkout_redeems_once(
    client: TestClient, admin: Account, shopper: tuple[Account, str]
) -> None:
    account, session = shopper
    made = create(client, admin, "RETRY-ONCE", max_uses_per_customer=5)
    first = order(client, account, session, coupon_code="RETRY-ONCE", key="retry-coupon-1")
    second = order(client, account, session, coupon_code="RETRY-ONCE", key="retry-coupon-1")
    assert (first.status_code, second.status_code) == (201, 200), second.text
    assert first.json()["order"]["id"] == second.json()["order"]["id"]
    assert client.get(f"{PATH}/{made['id']}", headers=admin.auth).json()["uses"] == 1
    other = order(client, account, session, key="retry-coupon-1")  # same key, no coupon
    assert "Idempotency-Key" in error_of(other, 409)


def test_every_refusal_says_why_at_checkout_and_places_nothing(
    client: TestClient, admin: Account
) -> None:
    account = register(client, "refused")
    session = session_of(client, account)
    rival = register(client, "first-in-line")
    create(client, admin, "C-OFF", active=False)
    create(client, admin, "C-SOON", valid_from=FUTURE.isoformat())
    create(
        client,
        admin,
        "C-OVER",
        valid_to=PAST.isoformat(),
        valid_from=(PAST - timedelta(days=1)).isoformat(),
    )
    create(client, admin, "C-BIG", min_order_value=10_000)
    create(client, admin, "C-ONE", max_uses=1)
    create(client, admin, "C-MINE")
    taken = order(client, rival, session_of(client, rival), coupon_code="C-ONE")
    assert taken.status_code == 201, taken.text
    mine = order(client, account, session, coupon_code="C-MINE")
    assert mine.status_code == 201, mine.text
    before = client.get(
        "/api/user/orders", headers={**account.auth, **after(mine.json()["position"])}
    ).json()["total"]
    cases = {
        "C-NEVER": "unknown coupon 'C-NEVER'",
        "C-OFF": "coupon 'C-OFF' is inactive",
        "C-SOON": "coupon 'C-SOON' is not yet valid; it starts on",
        "C-OVER": f"coupon 'C-OVER' expired on {PAST.isoformat()}",
        "C-BIG": "coupon 'C-BIG' needs a minimum order of ₹10000.00",
        "C-ONE": "coupon 'C-ONE' is used up",
        "C-MINE": "you have already used coupon 'C-MINE'",
    }
    for code, reason in cases.items():
        refused = error_of(order(client, account, session, coupon_code=code), 422)
        assert refused.startswith("coupon_code: ") and reason in refused, refused
    empty = order(client, account, session, coupon_code="")
    assert "coupon_code: must not be empty" in error_of(empty, 422)
    now = client.get("/api/user/orders", headers=account.auth).json()["total"]
    assert now == before


# --- cancellation gives the use back ----------------------------------------------------


def test_an_order_cancelled_before_payment_gives_its_use_back(
    client: TestClient, admin: Account, moderator: Account
) -> None:
    made = create(client, admin, "LAST-ONE", max_uses=1)
    first, second = register(client, "early-bird"), register(client, "late-bird")
    second_session = session_of(client, second)
    placed = order(client, first, session_of(client, first), coupon_code="LAST-ONE")
    assert placed.status_code == 201, placed.text
    assert "used up" in error_of(order(client, second, second_session, coupon_code="LAST-ONE"), 422)

    order_id = placed.json()["order"]["id"]
    cancelled = client.patch(
        f"/api/mod/orders/{order_id}/status", json={"status": "cancelled"}, headers=moderator.auth
    )
    assert cancelled.status_code == 200, cancelled.text
    detail = client.get(f"{PATH}/{made['id']}", headers=admin.auth).json()
    assert detail["uses"] == 0 and detail["by_customer"] == []
    wait = after(cancelled.json()["position"])
    [row] = client.get(PATH, params={"q": "LAST-ONE"}, headers={**admin.auth, **wait}).json()[
        "coupons"
    ]
    assert row["uses"] == 0 and row["customers"] == 0 and row["discount_total"] == 0

    again = order(client, second, second_session, coupon_code="LAST-ONE")
    assert again.status_code == 201, again.text
    # Paid, then cancelled: the use is spent (the discount was given on a paid order).
    paid_id = again.json()["order"]["id"]
    client.patch(f"/api/admin/orders/{paid_id}/paid", json={}, headers=admin.auth)
    cancelled = client.patch(
        f"/api/admin/orders/{paid_id}/status", json={"status": "cancelled"}, headers=admin.auth
    )
    assert cancelled.status_code == 200, cancelled.text
    assert client.get(f"{PATH}/{made['id']}", headers=admin.auth).json()["uses"] == 1
