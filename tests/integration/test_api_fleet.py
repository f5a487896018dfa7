"""Story: staff keep the printer fleet; the public sees specs; quotes use the whole fleet.

Admins and moderators both run printers (/api/admin and /api/mod, per the seed); customers
and strangers may not. Every printer has materials the shop knows, owners who are staff,
a PIN code and physical figures in range; the public list shows active printers' specs and
never their address, PIN or owners. A quote is refused only when no active printer set up
for the material can make the part; the printer that makes it is the one using the least
electricity for it, and its hours price the part.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.http import Account, app_settings, error_of, register, running_app, staff

SPEC: dict[str, Any] = {
    "name": "Farm X1",
    "brand": "Bambu Lab",
    "materials": ["PLA", "PETG"],
    "bed_x_mm": 256,
    "bed_y_mm": 256,
    "bed_z_mm": 256,
    "nozzle_mm": 0.4,
    "wattage_w": 150,
    "print_speed_cm3_hr": 25,
    "printer_pincode": "400001",
    "printer_address": "Unit 4, Fort, Mumbai",
    "notes": "AMS fitted",
    "loaded_colors": ["Black", "White"],
}
ADMIN_PATH = "/api/admin/printer-types"
MOD_PATH = "/api/mod/printer-types"
PUBLIC_ONLY = {
    "id",
    "name",
    "brand",
    "materials",
    "bed_x_mm",
    "bed_y_mm",
    "bed_z_mm",
    "nozzle_mm",
    "layer_height_mm",
    "print_speed_cm3_hr",
}


def _add(client: TestClient, who: Account, path: str = ADMIN_PATH, **changes: Any) -> Any:
    response = client.post(path, json={**SPEC, **changes}, headers=who.auth)
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["X-Position"] == str(body["position"])
    return body["printer"]


def _staff_list(client: TestClient, who: Account, path: str = ADMIN_PATH) -> list[Any]:
    response = client.get(path, headers=who.auth)
    assert response.status_code == 200, response.text
    printers: list[Any] = response.json()["printers"]
    return printers


# --- who may do what ---------------------------------------------------------------------


def test_printers_are_run_by_admins_and_moderators_only(
    client: TestClient, customer: Account, moderator: Account, admin: Account
) -> None:
    unknown = f"{uuid.uuid4()}"
    for prefix in (ADMIN_PATH, MOD_PATH):
        routes = [
            ("GET", prefix, None),
            ("POST", prefix, {**SPEC, "name": "Matrix"}),
            ("PUT", f"{prefix}/{unknown}", {"notes": "x"}),
            ("DELETE", f"{prefix}/{unknown}", None),
        ]
        for method, path, body in routes:
            error_of(client.request(method, path, json=body), 401)
            error_of(client.request(method, path, json=body, headers=customer.auth), 403)
            as_mod = client.request(method, path, json=body, headers=moderator.auth)
            as_admin = client.request(method, path, json=body, headers=admin.auth)
            if prefix == ADMIN_PATH:  # the admin area is for admins only
                error_of(as_mod, 403)
            else:
                assert as_mod.status_code in (200, 201, 404), as_mod.text
            assert as_admin.status_code in (200, 201, 404), as_admin.text
    # Anyone may read the public specs.
    assert client.get("/api/printer-types").status_code == 200
    assert client.get("/api/printer-types", headers=customer.auth).status_code == 200


# --- the fleet as staff keep it ----------------------------------------------------------


def test_the_built_in_printer_is_the_first_of_the_fleet(client: TestClient, admin: Account) -> None:
    default = next(p for p in _staff_list(client, admin) if p["name"] == "Standard FDM 250")
    assert default["printer_pincode"] == "560001" and default["active"]
    assert (default["bed_x_mm"], default["bed_y_mm"], default["bed_z_mm"]) == (250, 210, 220)
    assert (default["wattage_w"], default["print_speed_cm3_hr"]) == (120, 15)
    assert set(default["materials"]) == {"PLA", "PETG", "ABS", "TPU"}


def test_a_printer_is_added_with_its_owners_and_shown_publicly_without_its_address(
    client: TestClient, admin: Account, moderator: Account
) -> None:
    added = _add(client, admin, owners=[moderator.id, admin.id], name="Owned X1")
    assert added["owners"] == [moderator.id, admin.id]
    assert added["loaded_colors"] == ["Black", "White"]
    assert added["printer_address"] == "Unit 4, Fort, Mumbai" and added["version"] == 1
    assert any(p["id"] == added["id"] for p in _staff_list(client, moderator, MOD_PATH))

    public = client.get("/api/printer-types").json()["printers"]
    shown = next(p for p in public if p["id"] == added["id"])
    assert set(shown) == PUBLIC_ONLY  # no address, PIN, owners, power draw or notes
    assert shown["materials"] == ["PLA", "PETG"]


def test_a_moderator_adds_and_changes_a_printer_too(client: TestClient, moderator: Account) -> None:
    added = _add(client, moderator, MOD_PATH, name="Mod's Mini", bed_x_mm=180, bed_y_mm=180)
    response = client.put(
        f"{MOD_PATH}/{added['id']}",
        json={"nozzle_mm": 0.6, "layer_height_mm": 0.3, "loaded_colors": ["Red"]},
        headers=moderator.auth,
    )
    assert response.status_code == 200, response.text
    changed = response.json()["printer"]
    assert (changed["nozzle_mm"], changed["layer_height_mm"]) == (0.6, 0.3)
    assert changed["loaded_colors"] == ["Red"] and changed["bed_x_mm"] == 180  # rest kept


def test_an_inactive_printer_leaves_the_public_list_and_comes_back(
    client: TestClient, admin: Account
) -> None:
    added = _add(client, admin, name="Sometimes")
    off = client.put(f"{ADMIN_PATH}/{added['id']}", json={"active": False}, headers=admin.auth)
    assert off.status_code == 200 and off.json()["printer"]["active"] is False
    assert added["id"] not in {p["id"] for p in client.get("/api/printer-types").json()["printers"]}
    assert any(p["id"] == added["id"] and not p["active"] for p in _staff_list(client, admin))
    on = client.put(f"{ADMIN_PATH}/{added['id']}", json={"active": True}, headers=admin.auth)
    assert on.json()["printer"]["active"] is True
    assert added["id"] in {p["id"] for p in client.get("/api/printer-types").json()["printers"]}


def test_an_edit_that_changes_nothing_writes_nothing(client: TestClient, admin: Account) -> None:
    added = _add(client, admin, name="Steady")
    same = client.put(f"{ADMIN_PATH}/{added['id']}", json={}, headers=admin.auth)
    assert same.status_code == 200 and same.json()["printer"]["version"] == 1


def test_a_printer_is_deleted_once(client: TestClient, admin: Account) -> None:
    added = _add(client, admin, name="Doomed")
    gone = client.delete(f"{ADMIN_PATH}/{added['id']}", headers=admin.auth)
    assert gone.status_code == 200 and gone.json()["deleted"] is True
    assert added["id"] not in {p["id"] for p in _staff_list(client, admin)}
    error_of(client.delete(f"{ADMIN_PATH}/{added['id']}", headers=admin.auth), 404)
    error_of(client.put(f"{ADMIN_PATH}/{added['id']}", json={}, headers=admin.auth), 404)


@pytest.mark.parametrize("path", [f"{ADMIN_PATH}/nope", f"{ADMIN_PATH}/{uuid.uuid4()}"])
def test_an_unknown_printer_is_404(client: TestClient, admin: Account, path: str) -> None:
    error_of(client.put(path, json={"notes": "x"}, headers=admin.auth), 404)
    error_of(client.delete(path, headers=admin.auth), 404)


# --- refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"materials": []}, "materials"),
        ({"materials": ["WOOD"]}, "unknown material"),
        ({"materials": ["PLA", "pla"]}, "twice"),
        ({"bed_x_mm": 0}, "bed_x_mm"),
        ({"bed_y_mm": -200}, "bed_y_mm"),
        ({"bed_z_mm": 50_000}, "bed_z_mm"),
        ({"bed_z_mm": "tall"}, "bed_z_mm"),
        ({"nozzle_mm": 0}, "nozzle_mm"),
        ({"nozzle_mm": 4}, "nozzle_mm"),
        ({"nozzle_mm": 0.4, "layer_height_mm": 0.5}, "layer_height_mm"),
        ({"wattage_w": 0}, "wattage_w"),
        ({"wattage_w": 1e9}, "wattage_w"),
        ({"print_speed_cm3_hr": -1}, "print_speed_cm3_hr"),
        ({"printer_pincode": "12345"}, "printer_pincode"),
        ({"printer_pincode": "012345"}, "PIN"),
        ({"printer_pincode": "56000A"}, "PIN"),
        ({"printer_pincode": "999999"}, "not in India Post's PIN directory"),
        ({"printer_address": "x" * 501}, "printer_address"),
        ({"owners": ["not-a-user-id"]}, "owners"),
        ({"owners": [str(uuid.uuid4())]}, "owners"),
        ({"loaded_colors": ["Black", "black"]}, "twice"),
        ({"loaded_colors": ["Bl\x00ack"]}, "control characters"),
        ({"name": "Farm\x1b[31m"}, "control characters"),
    ],
    ids=lambda v: str(v)[:40],
)
def test_a_printer_with_impossible_figures_is_refused_with_422(
    client: TestClient, admin: Account, changes: dict[str, Any], complaint: str
) -> None:
    response = client.post(ADMIN_PATH, json={**SPEC, **changes}, headers=admin.auth)
    assert complaint.lower() in error_of(response, 422).lower()


def test_required_fields_are_required(client: TestClient, admin: Account) -> None:
    for field in ("name", "materials", "bed_x_mm", "nozzle_mm", "wattage_w", "printer_pincode"):
        body = {k: v for k, v in SPEC.items() if k != field}
        assert field in error_of(client.post(ADMIN_PATH, json=body, headers=admin.auth), 422)


def test_owners_are_staff_not_customers(
    client: TestClient, admin: Account, customer: Account
) -> None:
    response = client.post(ADMIN_PATH, json={**SPEC, "owners": [customer.id]}, headers=admin.auth)
    assert "moderators or admins" in error_of(response, 422)


def test_a_change_is_held_to_the_same_rules(client: TestClient, admin: Account) -> None:
    added = _add(client, admin, name="Strict")
    path = f"{ADMIN_PATH}/{added['id']}"
    for changes in ({"printer_pincode": "999"}, {"materials": ["WOOD"]}, {"bed_x_mm": 0}):
        error_of(client.put(path, json=changes, headers=admin.auth), 422)
    error_of(client.put(path, json={"layer_height_mm": 0.6}, headers=admin.auth), 422)
    assert client.put(path, json={}, headers=admin.auth).json()["printer"]["version"] == 1


# --- quotes use the fleet ----------------------------------------------------------------

QUOTE: dict[str, Any] = {
    "dim_x_mm": 40,
    "dim_y_mm": 30,
    "dim_z_mm": 20,
    "volume_cm3": 12.5,
    "material": "PLA",
    "quantity": 1,
    "fulfillment": "pickup",
    "infill": 20,
}
BIG = {"dim_x_mm": 300, "dim_y_mm": 280, "dim_z_mm": 260, "volume_cm3": 900}


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[tuple[TestClient, Account]]:
    """A fresh shop (only the built-in printer) and its admin."""
    with running_app(app_settings(tmp_path)) as client:
        yield client, staff(client, "admin", "fleet-boss")


def _quote(client: TestClient, **changes: Any) -> Any:
    return client.post("/api/quote", json={**QUOTE, **changes})


def test_a_part_only_the_big_printer_fits_is_quoted_on_it(
    fleet: tuple[TestClient, Account],
) -> None:
    client, admin = fleet
    refused = error_of(_quote(client, **BIG), 422)
    assert "does not fit the build volume (250 x 210 x 220" in refused  # as before the fleet
    _add(client, admin, name="Big", materials=["PLA"], bed_x_mm=350, bed_y_mm=320, bed_z_mm=325)
    # On its side it fits: 260 <= 320 <= 325, 280 <= 325, 300 <= 350 in some orientation.
    turned = {**BIG, "dim_x_mm": 260, "dim_y_mm": 300, "dim_z_mm": 280}
    assert _quote(client, **BIG).status_code == 200
    assert _quote(client, **turned).status_code == 200
    # The big printer prints PLA only: in PETG nothing can make it.
    reason = error_of(_quote(client, **BIG, material="PETG"), 422)
    assert "does not fit" in reason


def test_a_material_only_one_printer_is_set_up_for(fleet: tuple[TestClient, Account]) -> None:
    client, admin = fleet
    material = {
        "name": "PA-CF",
        "display_name": "Nylon carbon fibre",
        "density_g_cm3": 1.15,
        "cost_per_kg": "4200",
        "colors": ["Black"],
    }
    assert client.post("/api/admin/materials", json=material, headers=admin.auth).status_code == 201
    assert "no active printer" in error_of(_quote(client, material="PA-CF"), 422)
    hardened = _add(client, admin, name="Hardened", materials=["PA-CF"])
    assert _quote(client, material="PA-CF").status_code == 200
    client.put(f"{ADMIN_PATH}/{hardened['id']}", json={"active": False}, headers=admin.auth)
    assert "no active printer" in error_of(_quote(client, material="PA-CF"), 422)


def test_an_inactive_printer_is_ignored(fleet: tuple[TestClient, Account]) -> None:
    client, admin = fleet
    big = _add(client, admin, name="Big", bed_x_mm=400, bed_y_mm=400, bed_z_mm=400)
    assert _quote(client, **BIG).status_code == 200
    client.put(f"{ADMIN_PATH}/{big['id']}", json={"active": False}, headers=admin.auth)
    error_of(_quote(client, **BIG), 422)
    client.delete(f"{ADMIN_PATH}/{big['id']}", headers=admin.auth)
    error_of(_quote(client, **BIG), 422)


def test_the_printer_using_least_electricity_makes_the_part(
    fleet: tuple[TestClient, Account],
) -> None:
    client, admin = fleet
    before = _quote(client).json()["quote"]
    # Twice as fast at half the power: a quarter of the energy, and half the machine time.
    _add(client, admin, name="Frugal", wattage_w=60, print_speed_cm3_hr=30)
    after = _quote(client).json()["quote"]
    assert after["print_hours_per_unit"] < before["print_hours_per_unit"]
    # A hungrier, faster printer does not take the part from it.
    _add(client, admin, name="Hungry", wattage_w=1000, print_speed_cm3_hr=60)
    assert _quote(client).json()["quote"] == after


def test_with_no_active_printer_nothing_is_quoted(fleet: tuple[TestClient, Account]) -> None:
    client, admin = fleet
    (default,) = _staff_list(client, admin)
    client.put(f"{ADMIN_PATH}/{default['id']}", json={"active": False}, headers=admin.auth)
    assert "no active printer" in error_of(_quote(client), 422)


def test_a_part_too_thin_for_every_nozzle_is_refused(fleet: tuple[TestClient, Account]) -> None:
    client, admin = fleet
    thin = {"dim_x_mm": 40, "dim_y_mm": 30, "dim_z_mm": 0.5, "volume_cm3": 0.5}
    assert "nozzle" in error_of(_quote(client, **thin), 422)
    _add(client, admin, name="Fine", nozzle_mm=0.2, layer_height_mm=0.1)
    assert _quote(client, **thin).status_code == 200  # the fine nozzle makes it


def test_a_customer_is_not_an_owner(fleet: tuple[TestClient, Account]) -> None:
    client, admin = fleet
    someone = register(client, "someone")
    response = client.post(ADMIN_PATH, json={**SPEC, "owners": [someone.id]}, headers=admin.auth)
    error_of(response, 422)
