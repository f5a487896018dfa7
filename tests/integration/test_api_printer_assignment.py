"""Story: staff rank the fleet for an order, put it on a printer, and owners see their queue.

Every printer is ranked for an order: compatible ones first (active, material, colour
loaded, bed, nozzle), then by score = queued hours + km / 100. Assigning is an event on the
order's stream with its actor, so it shows in the history and `as_of`; the printer-load
view counts the hours; a printer with orders on it cannot be deleted until they leave it.
Admins work on /api/admin and /api/mod, moderators on /api/mod; a moderator sees the queue
of the printers they own.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from projections.printer_load import printer_utilisation
from tests.support.fleet import PRINTER
from tests.support.http import Account, after, error_of, place_order, staff

SHIPPING = {
    "fulfillment": "shipping",
    "shipping_name": "Asha",
    "shipping_address": "1 Janpath",
    "shipping_city": "New Delhi",
    "shipping_zip": "110001",
    "color": "Black",
}


def _printer(client: TestClient, admin: Account, **changes: Any) -> dict[str, Any]:
    name = changes.pop("name", f"P-{uuid.uuid4().hex[:8]}")
    response = client.post(
        "/api/admin/printer-types", json={**PRINTER, "name": name, **changes}, headers=admin.auth
    )
    assert response.status_code == 201, response.text
    printer: dict[str, Any] = response.json()["printer"]
    return printer


def _assign(
    client: TestClient, who: Account, order_id: str, printer_id: Any, prefix: str = "/api/admin"
) -> Any:
    return client.patch(
        f"{prefix}/orders/{order_id}/printer", json={"printer_id": printer_id}, headers=who.auth
    )


def _assigned(client: TestClient, who: Account, order_id: str, printer_id: Any) -> dict[str, Any]:
    response = _assign(client, who, order_id, printer_id)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert response.headers["X-Position"] == str(body["position"])
    return body


def _eligible(
    client: TestClient, who: Account, order_id: str, position: int = 0, prefix: str = "/api/admin"
) -> dict[str, Any]:
    response = client.get(
        f"{prefix}/orders/{order_id}/eligible-printers",
        headers={**who.auth, **(after(position) if position else {})},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _hours(order: dict[str, Any]) -> float:
    return float(order["price"]["print_hours_total"])


# --- who may do what ---------------------------------------------------------------------


def test_every_new_route_is_for_staff_and_the_admin_area_for_admins(
    client: TestClient, customer: Account, moderator: Account, admin: Account
) -> None:
    order = place_order(client, customer)
    printer = _printer(client, admin, owners=[moderator.id])
    routes = [
        ("GET", f"/orders/{order['id']}/eligible-printers", None),
        ("PATCH", f"/orders/{order['id']}/printer", {"printer_id": None}),
        ("GET", f"/printer-types/{printer['id']}/queue", None),
        ("GET", "/my-printers/queue", None),
    ]
    for method, path, body in routes:
        for prefix in ("/api/admin", "/api/mod"):
            url = prefix + path
            error_of(client.request(method, url, json=body), 401)
            error_of(client.request(method, url, json=body, headers=customer.auth), 403)
            ok = client.request(method, url, json=body, headers=admin.auth)
            assert ok.status_code == 200, (url, ok.text)
        error_of(
            client.request(method, "/api/admin" + path, json=body, headers=moderator.auth), 403
        )
        ok = client.request(method, "/api/mod" + path, json=body, headers=moderator.auth)
        assert ok.status_code == 200, (path, ok.text)


# --- ranking -------------------------------------------------------------------------------


def test_every_printer_is_ranked_compatible_first_with_reasons_and_distance(
    client: TestClient, customer: Account, admin: Account
) -> None:
    near = _printer(client, admin, name="Delhi near", printer_pincode="110001")
    far = _printer(client, admin, name="Mumbai far", printer_pincode="400001")
    petg = _printer(client, admin, name="PETG only", materials=["PETG"])
    white = _printer(client, admin, name="White only", loaded_colors=["White"])
    tiny = _printer(client, admin, name="Tiny bed", bed_x_mm=10, bed_y_mm=10, bed_z_mm=10)
    off = _printer(client, admin, name="Switched off", active=False)
    order = place_order(client, customer, **SHIPPING)

    body = _eligible(client, admin, order["id"])
    ranked = {p["printer_id"]: p for p in body["printers"]}
    assert body["order_id"] == order["id"] and body["printer_id"] is None
    verdicts = [p["verdict"] for p in body["printers"]]
    assert verdicts == sorted(verdicts)  # "compatible" < "incompatible": compatible first
    assert ranked[near["id"]]["verdict"] == "compatible" and ranked[near["id"]]["reasons"] == []
    assert ranked[near["id"]]["distance_km"] == 0.0
    assert ranked[far["id"]]["distance_km"] > 1000
    assert ranked[near["id"]]["score"] < ranked[far["id"]]["score"]
    order_of = [p["printer_id"] for p in body["printers"]]
    assert order_of.index(near["id"]) < order_of.index(far["id"])
    assert any("PLA" in r for r in ranked[petg["id"]]["reasons"])
    assert any("Black is not loaded" in r for r in ranked[white["id"]]["reasons"])
    assert any("does not fit the bed" in r for r in ranked[tiny["id"]]["reasons"])
    assert ranked[off["id"]]["reasons"] == ["the printer is inactive"]
    for item in body["printers"]:
        assert item["compatible"] is (item["verdict"] == "compatible")
        km = 3000 if item["distance_km"] is None else item["distance_km"]
        expected = item["queued_hours"] + km / 100
        assert abs(item["score"] - expected) < 0.01


def test_a_pickup_order_is_measured_from_the_shop(
    client: TestClient, customer: Account, admin: Account
) -> None:
    bangalore = _printer(client, admin, name="Shop floor", printer_pincode="560001")
    order = place_order(client, customer, color="Black")  # pickup; the shop's PIN is 560001
    ranked = {p["printer_id"]: p for p in _eligible(client, admin, order["id"])["printers"]}
    assert ranked[bangalore["id"]]["distance_km"] == 0.0


# --- assigning -------------------------------------------------------------------------------


def test_an_assignment_is_an_event_in_the_history_and_as_of(
    client: TestClient, customer: Account, admin: Account, moderator: Account
) -> None:
    printer = _printer(client, admin, name="Historian")
    order = place_order(client, customer, **SHIPPING)

    body = _assigned(client, admin, order["id"], printer["id"])
    assert body["order"]["printer"] == {"id": printer["id"], "name": "Historian"}
    detail = client.get(f"/api/admin/orders/{order['id']}", headers=admin.auth).json()
    assert detail["printer"] == {"id": printer["id"], "name": "Historian"}

    events = client.get(f"/api/admin/orders/{order['id']}/history", headers=admin.auth).json()
    assigned = [e for e in events["events"] if e["type"] == "PrinterAssigned"]
    assert len(assigned) == 1
    assert assigned[0]["actor"] == f"admin:{admin.id}"
    assert assigned[0]["data"] == {"printer_id": printer["id"], "previous_printer_id": None}
    before = client.get(
        f"/api/admin/orders/{order['id']}?as_of={assigned[0]['version'] - 1}", headers=admin.auth
    ).json()
    assert before["printer"] is None

    again = _assigned(client, admin, order["id"], printer["id"])  # the same printer: no event
    assert again["order"]["version"] == body["order"]["version"]

    off = _assign(client, moderator, order["id"], None, prefix="/api/mod")
    assert off.status_code == 200 and off.json()["order"]["printer"] is None
    history = client.get(f"/api/admin/orders/{order['id']}/history", headers=admin.auth).json()
    last = history["events"][-1]
    assert last["type"] == "PrinterAssigned" and last["actor"] == f"moderator:{moderator.id}"
    assert last["data"] == {"printer_id": None, "previous_printer_id": printer["id"]}


def test_assignments_are_refused_with_the_reason(
    client: TestClient, customer: Account, admin: Account
) -> None:
    order = place_order(client, customer, **SHIPPING)
    petg = _printer(client, admin, name="PETG farm", materials=["PETG"], loaded_colors=["Red"])

    error_of(_assign(client, admin, order["id"], str(uuid.uuid4())), 404)
    error_of(_assign(client, admin, order["id"], "printer-3"), 404)
    error_of(_assign(client, admin, str(uuid.uuid4()), petg["id"]), 404)
    text = error_of(_assign(client, admin, order["id"], petg["id"]), 409)
    assert "PLA" in text and "Black is not loaded" in text

    for body in ({}, {"printer_id": 3}, {"printer_id": ["x"]}, {"printer_id": "x" * 37}):
        response = client.patch(
            f"/api/admin/orders/{order['id']}/printer", json=body, headers=admin.auth
        )
        error_of(response, 422)

    good = _printer(client, admin)
    for status in ("confirmed", "printing", "post_processing"):
        moved = client.patch(
            f"/api/admin/orders/{order['id']}/status", json={"status": status}, headers=admin.auth
        )
        assert moved.status_code == 200, moved.text
    text = error_of(_assign(client, admin, order["id"], good["id"]), 409)
    assert "post_processing" in text


# --- the load view, queues and deletion -------------------------------------------------------


def test_the_load_view_counts_hours_and_a_busy_printer_cannot_be_deleted(
    client: TestClient, customer: Account, admin: Account
) -> None:
    printer = _printer(client, admin, name="Workhorse")
    first = place_order(client, customer, **SHIPPING)
    second = place_order(client, customer, **SHIPPING)
    position = _assigned(client, admin, first["id"], printer["id"])["position"]

    ranked = _eligible(client, admin, second["id"], position)
    mine = next(p for p in ranked["printers"] if p["printer_id"] == printer["id"])
    assert mine["queued_hours"] == _hours(first)
    own = _eligible(client, admin, first["id"], position)  # its own hours are not counted
    assert own["printer_id"] == printer["id"]
    assert next(p for p in own["printers"] if p["current"])["queued_hours"] == 0

    with client.app.state.container.views.reading() as cur:  # type: ignore[attr-defined]
        loads = {row["printer_id"]: row for row in printer_utilisation(cur)}
    assert loads[printer["id"]]["queued_orders"] == 1
    assert loads[printer["id"]]["queued_hours"] == _hours(first)
    assert loads[printer["id"]]["printing_orders"] == 0

    text = error_of(
        client.delete(f"/api/admin/printer-types/{printer['id']}", headers=admin.auth), 409
    )
    assert "1 order(s)" in text
    position = _assigned(client, admin, first["id"], None)["position"]
    _eligible(client, admin, second["id"], position)  # the view has folded the unassignment
    gone = client.delete(f"/api/admin/printer-types/{printer['id']}", headers=admin.auth)
    assert gone.status_code == 200, gone.text


def test_printing_hours_and_finished_orders(
    client: TestClient, customer: Account, admin: Account
) -> None:
    printer = _printer(client, admin, name="Busy bee")
    order = place_order(client, customer, **SHIPPING)
    _assigned(client, admin, order["id"], printer["id"])
    position = 0
    for status in ("confirmed", "printing"):
        moved = client.patch(
            f"/api/admin/orders/{order['id']}/status", json={"status": status}, headers=admin.auth
        )
        position = moved.json()["position"]
    _eligible(client, admin, order["id"], position)
    with client.app.state.container.views.reading() as cur:  # type: ignore[attr-defined]
        loads = {row["printer_id"]: row for row in printer_utilisation(cur)}
    assert loads[printer["id"]]["printing_orders"] == 1
    assert loads[printer["id"]]["printing_hours"] == _hours(order)
    assert loads[printer["id"]]["queued_orders"] == 0

    moved = client.patch(
        f"/api/admin/orders/{order['id']}/status",
        json={"status": "post_processing"},
        headers=admin.auth,
    )
    _eligible(client, admin, order["id"], moved.json()["position"])
    with client.app.state.container.views.reading() as cur:  # type: ignore[attr-defined]
        assert printer["id"] not in {row["printer_id"] for row in printer_utilisation(cur)}
    gone = client.delete(f"/api/admin/printer-types/{printer['id']}", headers=admin.auth)
    assert gone.status_code == 200, gone.text  # off the printer once printing is over


def test_owners_see_their_printers_queue(
    client: TestClient, customer: Account, admin: Account, moderator: Account
) -> None:
    other = staff(client, "moderator", "night-shift")
    mine = _printer(client, admin, name="Owned", owners=[moderator.id])
    theirs = _printer(client, admin, name="Not owned", owners=[other.id])
    order = place_order(client, customer, **SHIPPING)
    position = _assigned(client, admin, order["id"], mine["id"])["position"]

    queue = client.get(
        f"/api/mod/printer-types/{mine['id']}/queue", headers={**moderator.auth, **after(position)}
    )
    assert queue.status_code == 200, queue.text
    items = queue.json()["orders"]
    assert [i["order_id"] for i in items] == [order["id"]]
    assert items[0]["printer_name"] == "Owned" and items[0]["print_hours"] == _hours(order)
    assert queue.json()["total_hours"] == _hours(order)

    error_of(client.get(f"/api/mod/printer-types/{mine['id']}/queue", headers=other.auth), 403)
    error_of(client.get(f"/api/mod/printer-types/{uuid.uuid4()}/queue", headers=admin.auth), 404)
    empty = client.get(f"/api/mod/printer-types/{theirs['id']}/queue", headers=other.auth)
    assert empty.status_code == 200 and empty.json()["orders"] == []
    as_admin = client.get(f"/api/admin/printer-types/{mine['id']}/queue", headers=admin.auth)
    assert [i["order_id"] for i in as_admin.json()["orders"]] == [order["id"]]

    own = client.get("/api/mod/my-printers/queue", headers=moderator.auth).json()
    assert mine["id"] in own["printer_ids"] and theirs["id"] not in own["printer_ids"]
    assert order["id"] in {i["order_id"] for i in own["orders"]}
    assert client.get("/api/mod/my-printers/queue", headers=other.auth).json()["orders"] == []
