"""Firm quotes and orders' G-code, sliced by the real PrusaSlicer in the embedded worker."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from infra.slicer import PrusaSlicer
from tests.conftest import missing_component
from tests.support import parts
from tests.support.fleet import PRINTER
from tests.support.http import (
    Account,
    app_settings,
    error_of,
    place_order,
    register,
    running_app,
    staff,
    upload,
)

CUBE = parts.stl_bytes(parts.cube(20.0).mesh)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    if not PrusaSlicer().available():
        missing_component("prusa-slicer not found (apt-get install prusa-slicer)")
    settings = app_settings(tmp_path_factory.mktemp("firm"), slicer_in_process=True)
    with running_app(settings) as client:
        yield client


@pytest.fixture(scope="module")
def customer(client: TestClient) -> Account:
    return register(client, "firm-customer")


def _session(client: TestClient, customer: Account, data: bytes = CUBE) -> str:
    response = upload(client, customer, "part.stl", data)
    assert response.status_code == 201, response.text
    return str(response.json()["session_id"])


def _firm(client: TestClient, who: Account | None, **body: Any) -> Any:
    body = {"material": "PLA", "infill": 20, **body}
    return client.post("/api/quote/firm", json=body, headers=who.auth if who else {})


def test_a_firm_quote_is_priced_from_the_slicers_figures(
    client: TestClient, customer: Account
) -> None:
    session = _session(client, customer)
    instant = client.post("/api/quote", json={"session_id": session, "material": "PLA"})
    assert instant.status_code == 200, instant.text
    assert instant.json()["quote"]["firm"] is False
    assert instant.json()["quote"]["estimate"]["source"] == "estimator"

    response = _firm(client, customer, session_id=session, wait_seconds=30)
    assert response.status_code == 200, response.text
    body = response.json()
    firm, quote = body["firm"], body["quote"]
    assert firm["status"] == "sliced" and firm["slicer"].startswith("PrusaSlicer-2.")
    figures = firm["figures"]
    # 8 cm3 of part at 20 % infill: walls and skins plus sparse inside, well under solid.
    assert 2.0 < float(figures["filament_cm3"]) < 8.0
    assert figures["print_seconds"] > 0 and figures["layers"] == 100
    assert quote["firm"] is True
    assert quote["estimate"]["source"] == "slicer"
    assert quote["estimate"]["job_id"] == firm["job_id"]
    assert quote["grams_per_unit"] == pytest.approx(float(figures["filament_g"]), abs=0.05)

    polled = client.get(firm["poll"], headers=customer.auth)
    assert polled.status_code == 200 and polled.json()["firm"]["status"] == "sliced", polled.text
    again = _firm(client, customer, session_id=session, wait_seconds=0)
    assert again.status_code == 200 and again.json()["quote"]["firm"] is True


def test_without_waiting_the_answer_is_202_with_the_estimate_and_a_link(
    client: TestClient, customer: Account
) -> None:
    session = _session(client, customer, parts.stl_bytes(parts.cube(15.0).mesh))
    response = _firm(client, customer, session_id=session, infill=35, wait_seconds=0)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["firm"]["status"] in ("queued", "slicing")
    assert response.headers["location"] == body["firm"]["poll"]
    assert body["quote"]["firm"] is False and body["quote"]["total"] > 0
    deadline = time.monotonic() + 60
    while (polled := client.get(body["firm"]["poll"], headers=customer.auth)).status_code == 202:
        assert time.monotonic() < deadline, polled.text
        time.sleep(0.2)
    assert polled.status_code == 200 and polled.json()["firm"]["status"] == "sliced", polled.text


def test_a_slice_that_fails_keeps_the_estimate_says_why_and_is_not_retried_forever(
    tmp_path: Path,
) -> None:
    # A deadline no slice can meet: each attempt times out (a transient failure).
    settings = app_settings(tmp_path, slicer_in_process=True, slicer_timeout_seconds=0.01)
    with running_app(settings) as slow:
        who = register(slow, "slow-customer")
        response = _firm(slow, who, session_id=_session(slow, who), wait_seconds=30)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["firm"]["status"] == "failed"
        assert body["firm"]["failure"]["reason"] == "timeout"
        assert body["firm"]["attempts"] == 2  # one retry, then final
        assert body["quote"]["firm"] is False and body["quote"]["total"] > 0
        time.sleep(1.0)  # nothing claims it again
        again = slow.get(body["firm"]["poll"], headers=who.auth).json()["firm"]
        assert (again["status"], again["attempts"]) == ("failed", 2)


def test_refusals(client: TestClient, customer: Account) -> None:
    session = _session(client, customer)
    assert error_of(_firm(client, None, session_id=session), 401)
    assert "session" in error_of(_firm(client, customer, session_id="x" * 20), 404)
    assert error_of(_firm(client, customer, session_id=session, wait_seconds=31), 422)
    assert error_of(_firm(client, customer, session_id=session, infill=101), 422)
    assert error_of(client.get(f"/api/quote/firm/{uuid.uuid4()}", headers=customer.auth), 404)
    assert error_of(client.get(f"/api/quote/firm/{uuid.uuid4()}"), 401)


def test_staff_download_the_gcode_of_an_order_for_its_assigned_printer(
    client: TestClient, customer: Account
) -> None:
    admin = staff(client, "admin", "firm-admin")
    moderator = staff(client, "moderator", "firm-moderator")
    order = place_order(client, customer)
    gcode = f"/api/admin/orders/{order['id']}/gcode"
    assert "assign" in error_of(client.get(gcode, headers=admin.auth), 409)

    created = client.post(
        "/api/admin/printer-types",
        json={**PRINTER, "name": f"Firm-{uuid.uuid4().hex[:6]}", "printer_pincode": "560001"},
        headers=admin.auth,
    )
    assert created.status_code == 201, created.text
    printer = created.json()["printer"]
    assigned = client.patch(
        f"/api/admin/orders/{order['id']}/printer",
        json={"printer_id": printer["id"]},
        headers=admin.auth,
    )
    assert assigned.status_code == 200, assigned.text

    deadline = time.monotonic() + 90
    while True:
        state = client.get(f"/api/mod/orders/{order['id']}/slice", headers=moderator.auth)
        assert state.status_code == 200, state.text
        if state.json()["firm"]["status"] == "sliced":
            break
        assert time.monotonic() < deadline, state.text
        time.sleep(0.3)
    assert state.json()["firm"]["printer"] == printer["name"]
    seconds = state.json()["firm"]["figures"]["print_seconds"]

    # The customer's order shows the firm figures; the price stays as charged.
    mine = client.get(f"/api/user/orders/{order['id']}", headers=customer.auth).json()
    assert mine["slice"]["status"] == "sliced" and mine["slice"]["printer"] == printer["name"]
    assert mine["price"]["firm"] is False and mine["price"]["estimate"]["source"] == "estimator"
    # The printer's queue shows the slicer's time for every copy (2 copies ordered).
    queue = client.get(f"/api/admin/printer-types/{printer['id']}/queue", headers=admin.auth)
    assert queue.status_code == 200, queue.text
    (item,) = [i for i in queue.json()["orders"] if i["order_id"] == order["id"]]
    assert item["slice_status"] == "sliced"
    assert item["firm_print_hours"] == round(seconds * order["quantity"] / 3600, 2)

    response = client.get(gcode, headers=admin.auth)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/x.gcode")
    assert order["tracking_number"] in response.headers["content-disposition"]
    assert b"; filament used [g]" in response.content[-64_000:]
    assert (
        client.get(f"/api/mod/orders/{order['id']}/gcode", headers=moderator.auth).status_code
        == 200
    )

    assert error_of(client.get(gcode, headers=customer.auth), 403)
    assert error_of(client.get(gcode, headers=moderator.auth), 403)  # /api/admin is admins'
    assert error_of(client.get(gcode), 401)
    assert error_of(client.get(f"/api/admin/orders/{uuid.uuid4()}/gcode", headers=admin.auth), 404)
