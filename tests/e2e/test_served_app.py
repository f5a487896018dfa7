"""Story: the shop as it is really run, `fabledger serve`, driven over real HTTP.

The first admin is made with the CLI; a customer signs up, uploads, checks out; staff take
the order to the customer's door; the customer and a stranger with the tracking number
follow it. Then the server is stopped (SIGTERM), the read models are rebuilt from the log
with the CLI, and a restarted server lists exactly the same orders.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.support.http import CUBE_STL, TRACKING_NUMBER
from tests.support.served import run_cli, served

ADMIN_EMAIL = "owner@example.com"
ADMIN_PASSWORD = "admin password for e2e"
CUSTOMER_PASSWORD = "customer password for e2e"


def _counted(stats: dict[str, Any]) -> dict[str, int]:
    """The dashboard's non-zero counts by status."""
    return {status: n for status, n in stats["orders_by_status"].items() if n}


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.request.url, response.text)
    return response.json()


def test_a_served_shop_takes_an_order_to_the_door_and_survives_a_rebuild(
    fabledger_command: list[str], served_env: dict[str, str], tmp_path: Path
) -> None:
    cli, env, log = fabledger_command, served_env, tmp_path / "server.log"
    made = run_cli(
        cli, env, tmp_path, "admin", "create", "--email", ADMIN_EMAIL, "--password", ADMIN_PASSWORD
    )
    assert f"admin ready: {ADMIN_EMAIL}" in made

    with served(cli, env, log) as http:
        signed_up = _ok(
            http.post(
                "/api/auth/register",
                json={
                    "username": "maker",
                    "email": "maker@example.com",
                    "password": CUSTOMER_PASSWORD,
                },
            ),
            201,
        )
        customer = {"Authorization": f"Bearer {signed_up['token']}"}
        signed_in = _ok(
            http.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        )
        assert signed_in["user"]["role"] == "admin"
        admin = {"Authorization": f"Bearer {signed_in['token']}"}

        uploaded = _ok(
            http.post(
                "/api/upload-for-cart",
                headers=customer,
                files={"model_file": ("cube.stl", CUBE_STL)},
            ),
            201,
        )
        assert uploaded["volume_cm3"] == 8.0 and uploaded["triangle_count"] == 12
        form = {
            "session_id": uploaded["session_id"],
            "material": "PETG",
            "color": "Blue",
            "quantity": "2",
            "infill": "30",
            "fulfillment": "shipping",
            "shipping_name": "Maker Person",
            "shipping_phone": "+91 98450 00000",
            "shipping_address": "12 MG Road",
            "shipping_city": "Mumbai",
            "shipping_state": "Maharashtra",
            "shipping_zip": "400001",
        }
        key = {"Idempotency-Key": "e2e-cart-1"}
        placed = _ok(http.post("/api/checkout", headers={**customer, **key}, data=form), 201)
        retried = _ok(http.post("/api/checkout", headers={**customer, **key}, data=form), 200)
        order = placed["order"]
        assert retried["order"]["id"] == order["id"]
        assert TRACKING_NUMBER.match(order["tracking_number"])
        assert order["status"] == "pending" and order["price"]["shipping"] > 0
        order_url = f"/api/admin/orders/{order['id']}"

        paid = _ok(http.patch(f"{order_url}/paid", headers=admin, json={"method": "upi"}))
        assert paid["order"]["status"] == "confirmed"
        for status in ("printing", "post_processing"):
            _ok(http.patch(f"{order_url}/status", headers=admin, json={"status": status}))
        _ok(
            http.patch(
                f"{order_url}/tracking", headers=admin, json={"tracking_number": "EE123456789IN"}
            )
        )
        for status in ("shipped", "delivered"):
            moved = _ok(http.patch(f"{order_url}/status", headers=admin, json={"status": status}))
        assert moved["order"]["status"] == "delivered"
        wait = {"X-Min-Position": str(moved["position"])}

        mine = _ok(http.get(f"/api/user/orders/{order['id']}", headers=customer))
        assert mine["status"] == "delivered"
        assert [e.get("status") for e in mine["timeline"] if e["type"] == "StatusChanged"] == [
            "confirmed",
            "printing",
            "post_processing",
            "shipped",
            "delivered",
        ]
        tracked = http.get(f"/api/track/{order['tracking_number']}", headers=wait)
        assert _ok(tracked)["status"] == "delivered"
        assert _ok(tracked)["carrier_tracking_number"] == "EE123456789IN"
        assert "maker@example.com" not in tracked.text
        history = _ok(http.get(f"{order_url}/history", headers=admin))["events"]
        assert history[0]["type"] == "Placed" and history[-1]["data"]["to_status"] == "delivered"
        listed_before = _ok(http.get("/api/admin/orders", headers={**admin, **wait}))
        stats_before = _ok(http.get("/api/admin/stats", headers={**admin, **wait}))
        assert listed_before["total"] == 1
        assert stats_before["orders_by_status"]["delivered"] == 1

    server_output = log.read_text()
    for secret in (ADMIN_PASSWORD, CUSTOMER_PASSWORD, signed_up["token"], signed_in["token"]):
        assert secret not in server_output

    rebuilt = run_cli(cli, env, tmp_path, "projections", "rebuild")
    assert f"orders: {len(history)} events" in rebuilt
    assert f"stats: {len(history)} events" in rebuilt
    status = run_cli(cli, env, tmp_path, "projections", "status")
    assert f"orders: {len(history)} / {len(history)}" in status

    with served(cli, env, log) as http:
        listed_after = _ok(http.get("/api/admin/orders", headers=admin))
        stats_after = _ok(http.get("/api/admin/stats", headers=admin))
        tracked_after = _ok(http.get(f"/api/track/{order['tracking_number']}"))

    assert listed_after == listed_before
    assert _counted(stats_after) == _counted(stats_before) == {"delivered": 1}
    assert stats_after["revenue"] == stats_before["revenue"]
    assert tracked_after["status"] == "delivered"
