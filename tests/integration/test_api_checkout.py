"""Story: a customer uploads a model, gets an instant quote and checks out exactly once.

Real meshes from the copied corpus (tests/data/meshes) are measured over HTTP; hostile files
are refused with a reason; quotes add up the way the storefront promises (+25 % priority,
18 % GST on the taxable amount, shipping on top and untaxed); a retried checkout never
orders twice.
"""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
import trimesh
from fastapi.testclient import TestClient

from tests.support.http import (
    CUBE_STL,
    TRACKING_NUMBER,
    Account,
    app_settings,
    checkout,
    corpus_file,
    error_of,
    place_order,
    register,
    running_app,
    upload,
)

# --- upload & analysis -------------------------------------------------------------------

# (corpus file, x, y, z mm, volume cm3, area cm2, triangles, bodies)
CORPUS_MODELS = [
    ("stl_binary/Cube.stl", (2.0, 2.0, 2.0), 0.008, 0.24, 12, 1),
    ("stl_ascii/Cube.stl", (2.0, 2.0, 2.0), 0.008, 0.24, 12, 1),
    ("stl_binary/rear_case.stl", (88.01, 22.30, 100.97), 38.2299, 194.41, 18808, 1),
    ("3mf/Moon.3mf", (113.35, 76.2, 8.89), 37.7775, 122.84, 184, 2),
]


@pytest.mark.parametrize(
    ("path", "dims", "volume_cm3", "area_cm2", "triangles", "bodies"), CORPUS_MODELS
)
def test_an_uploaded_model_is_measured_and_kept_for_checkout(
    client: TestClient,
    customer: Account,
    path: str,
    dims: tuple[float, float, float],
    volume_cm3: float,
    area_cm2: float,
    triangles: int,
    bodies: int,
) -> None:
    filename = path.rsplit("/", 1)[-1]

    response = upload(client, customer, filename, corpus_file(path))

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["filename"] == filename
    assert body["file_format"] == filename.rsplit(".", 1)[-1].lower()
    measured = (body["dim_x_mm"], body["dim_y_mm"], body["dim_z_mm"])
    assert measured == pytest.approx(dims, abs=0.01)
    assert body["volume_cm3"] == pytest.approx(volume_cm3, rel=1e-4)
    assert body["surface_area_cm2"] == pytest.approx(area_cm2, rel=1e-3)
    assert body["triangle_count"] == triangles
    assert body["body_count"] == bodies
    assert body["is_watertight"] is True
    assert len(body["session_id"]) >= 16


def test_an_obj_exported_by_trimesh_is_measured_in_millimetres(
    client: TestClient, customer: Account
) -> None:
    obj = trimesh.creation.box(extents=(10, 20, 30)).export(file_type="obj").encode()

    response = upload(client, customer, "../../brick.OBJ", obj)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["filename"] == "brick.OBJ"  # the client's directories are not kept
    assert body["file_format"] == "obj"
    assert (body["dim_x_mm"], body["dim_y_mm"], body["dim_z_mm"]) == pytest.approx((10, 20, 30))
    assert body["volume_cm3"] == pytest.approx(6.0)
    assert body["surface_area_cm2"] == pytest.approx(22.0)
    assert (body["triangle_count"], body["body_count"], body["is_watertight"]) == (12, 1, True)


def _zip_bomb_3mf() -> bytes:
    """A small 3MF whose model part inflates a thousandfold (16 MB of blanks)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats'
            '.org/package/2006/content-types"><Default Extension="model" ContentType='
            '"application/vnd.ms-package.3dmanufacturing-3dmodel+xml"/></Types>',
        )
        with archive.open("3D/3dmodel.model", "w") as part:
            part.write(b'<?xml version="1.0" encoding="UTF-8"?>')
            blanks = b" " * (1 << 20)
            for _ in range(16):
                part.write(blanks)
    return buffer.getvalue()


def _hostile_uploads() -> Iterator[Any]:
    rear_case = corpus_file("stl_binary/rear_case.stl")
    yield pytest.param("empty.stl", b"", ("empty",), id="empty file")
    yield pytest.param("noise.stl", random.Random(7).randbytes(4096), ("STL",), id="random bytes")
    yield pytest.param("cube.exe", CUBE_STL, (".exe", "accepted"), id="wrong extension")
    yield pytest.param("no-extension", CUBE_STL, ("extension",), id="no extension")
    yield pytest.param(
        "half.stl", rear_case[: len(rear_case) // 2], ("truncated",), id="truncated STL"
    )
    yield pytest.param("bomb.3mf", _zip_bomb_3mf(), ("3MF",), id="zip bomb")
    yield pytest.param(
        "lamp.obj",
        b"mtllib ../../etc/passwd\nv 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\n"
        b"f 1 3 2\nf 1 2 4\nf 2 3 4\nf 1 4 3\n",
        ("mtllib",),
        id="OBJ naming another file",
    )


@pytest.mark.parametrize(("filename", "data", "reasons"), list(_hostile_uploads()))
def test_a_hostile_upload_is_refused_with_a_reason(
    client: TestClient, customer: Account, filename: str, data: bytes, reasons: tuple[str, ...]
) -> None:
    response = upload(client, customer, filename, data)

    reason = error_of(response, 422)
    for word in reasons:
        assert word in reason


def test_a_model_too_large_to_price_is_refused_not_a_crash(
    client: TestClient, customer: Account
) -> None:
    # A float32 STL can describe a cube a million kilometres wide; no printer makes it.
    planet = trimesh.creation.box(extents=(1e12, 1e12, 1e12)).export(file_type="stl")

    response = checkout(client, customer, model=("planet.stl", planet))

    error_of(response, 422)


def test_an_upload_needs_a_signed_in_customer(client: TestClient) -> None:
    error_of(upload(client, None, "cube.stl", CUBE_STL), 401)


@pytest.fixture(scope="module")
def small_cap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Account]]:
    """An app whose upload cap is 1 MB, and a customer of it."""
    settings = app_settings(tmp_path_factory.mktemp("small-cap"), max_file_size_mb=1)
    with running_app(settings) as capped:
        yield capped, register(capped, "bulky")


def test_an_upload_over_the_cap_is_413(small_cap: tuple[TestClient, Account]) -> None:
    client, customer = small_cap
    two_mb = b"solid big\n" + b" " * (2 * 1024 * 1024)

    assert "1 MB" in error_of(upload(client, customer, "big.stl", two_mb), 413)
    error_of(checkout(client, customer, model=("big.stl", two_mb)), 413)
    # Just under the cap is analysed as usual.
    assert upload(client, customer, "cube.stl", CUBE_STL).status_code == 201


def test_an_upload_streamed_without_a_length_is_cut_off_at_the_cap_with_413(
    small_cap: tuple[TestClient, Account],
) -> None:
    client, customer = small_cap
    boundary = "fabledger-boundary"

    def chunked_multipart() -> Iterator[bytes]:  # no Content-Length: the size is a surprise
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="model_file";'
            f' filename="big.stl"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ).encode()
        for _ in range(32):
            yield b" " * 65536
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post(
        "/api/upload-for-cart",
        headers={**customer.auth, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        content=chunked_multipart(),
    )

    assert response.request.headers.get("transfer-encoding") == "chunked"
    error_of(response, 413)


# --- materials & quotes ------------------------------------------------------------------

# The quote form of the storefront, field for field.
SEED_QUOTE: dict[str, Any] = {
    "dim_x_mm": 40,
    "dim_y_mm": 30,
    "dim_z_mm": 20,
    "volume_cm3": 12.5,
    "material": "PLA",
    "quantity": 2,
    "fulfillment": "pickup",
    "infill": 20,
    "color": "Black",
    "priority_print": False,
    "shipping_method": "india_post",
    "shipping_zip": "",
}
PAISA = Decimal("0.01")


def _money(value: float) -> Decimal:
    return Decimal(str(value))


def _pct(amount: Decimal, pct: float) -> Decimal:
    return (amount * _money(pct) / 100).quantize(PAISA, rounding=ROUND_HALF_UP)


def _quote(client: TestClient, **changes: Any) -> dict[str, Any]:
    response = client.post("/api/quote", json={**SEED_QUOTE, **changes})
    assert response.status_code == 200, response.text
    quote: dict[str, Any] = response.json()["quote"]
    return quote


def test_the_materials_on_offer_have_colours_and_density(client: TestClient) -> None:
    response = client.get("/api/materials")

    assert response.status_code == 200, response.text
    materials = {m["name"]: m for m in response.json()["materials"]}
    assert set(materials) == {"PLA", "PETG", "ABS", "TPU"}
    for material in materials.values():
        assert material["display_name"]
        assert material["colors"] and all(isinstance(c, str) for c in material["colors"])
        assert 0.8 < material["density_g_cm3"] < 1.6
    assert "Black" in materials["PLA"]["colors"]


def test_a_quote_shows_weight_time_and_a_total_that_adds_up(client: TestClient) -> None:
    quote = _quote(client)

    assert quote["currency"] == "INR"
    assert (quote["material"], quote["color"], quote["quantity"]) == ("PLA", "Black", 2)
    assert quote["grams_per_unit"] > 0 and quote["print_hours_per_unit"] > 0
    # Each figure is rounded on its own (grams to 0.1 g, hours to 0.01 h).
    assert quote["grams_total"] == pytest.approx(2 * quote["grams_per_unit"], abs=0.16)
    assert quote["print_hours_total"] == pytest.approx(2 * quote["print_hours_per_unit"], abs=0.016)
    assert _money(quote["material_cost"]) + _money(quote["printing_cost"]) == _money(
        quote["pre_tax_total"]
    )
    assert _money(quote["shipping"]) == 0
    assert _money(quote["total"]) == _money(quote["pre_tax_total"]) + _money(quote["gst"])
    for internal in ("electricity_cost", "setup_fee", "overhead", "margin", "subtotal"):
        assert internal not in quote  # folded into the two customer-facing lines


def test_priority_adds_exactly_a_quarter_of_the_price_before_priority(client: TestClient) -> None:
    normal = _quote(client)
    rushed = _quote(client, priority_print=True)

    before_priority = _money(normal["pre_tax_total"])
    assert _money(normal["priority_surcharge"]) == 0
    assert _money(rushed["priority_surcharge"]) == _pct(before_priority, 25)
    assert _money(rushed["pre_tax_total"]) == before_priority + _pct(before_priority, 25)
    assert rushed["priority"] is True


def test_gst_is_18_percent_of_the_taxable_amount_and_shipping_comes_on_top_untaxed(
    client: TestClient,
) -> None:
    pickup = _quote(client, priority_print=True)
    shipped = _quote(client, priority_print=True, fulfillment="shipping", shipping_zip="110001")

    for quote in (pickup, shipped):
        assert quote["gst_pct"] == 18
        assert _money(quote["gst"]) == _pct(_money(quote["pre_tax_total"]), 18)
    assert _money(shipped["shipping"]) > 0
    assert shipped["gst"] == pickup["gst"]  # shipping is not taxed again
    assert _money(shipped["total"]) == (
        _money(shipped["pre_tax_total"]) + _money(shipped["gst"]) + _money(shipped["shipping"])
    )
    assert _money(shipped["total"]) - _money(pickup["total"]) == _money(shipped["shipping"])


def test_a_quote_by_upload_session_prices_the_measured_model(
    client: TestClient, customer: Account
) -> None:
    uploaded = upload(client, customer, "cube.stl", CUBE_STL).json()

    by_session = _quote(client, session_id=uploaded["session_id"])
    by_numbers = _quote(
        client,
        dim_x_mm=uploaded["dim_x_mm"],
        dim_y_mm=uploaded["dim_y_mm"],
        dim_z_mm=uploaded["dim_z_mm"],
        volume_cm3=uploaded["volume_cm3"],
        surface_area_cm2=uploaded["surface_area_cm2"],
    )

    assert by_session == by_numbers


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"material": "Unobtainium"}, "Unobtainium"),
        ({"color": "Plaid"}, "Plaid"),
        ({"fulfillment": "shipping", "shipping_zip": "12345"}, "PIN"),
        ({"fulfillment": "shipping", "shipping_zip": "012345"}, "PIN"),
        ({"fulfillment": "shipping", "shipping_zip": ""}, "PIN"),
        ({"fulfillment": "teleport"}, "fulfillment"),
        ({"dim_x_mm": -40}, "dim_x_mm"),
        ({"volume_cm3": 0}, "volume_cm3"),
        ({"dim_z_mm": None}, "dim_z_mm"),
        ({"quantity": 0}, "quantity"),
        ({"infill": 150}, "infill"),
    ],
    ids=[
        "unknown material",
        "unknown colour",
        "short PIN",
        "PIN starting with 0",
        "missing PIN",
        "unknown fulfillment",
        "negative size",
        "zero volume",
        "missing size",
        "no copies",
        "infill over 100",
    ],
)
def test_a_quote_with_impossible_choices_is_refused_with_422(
    client: TestClient, changes: dict[str, Any], complaint: str
) -> None:
    response = client.post("/api/quote", json={**SEED_QUOTE, **changes})

    assert complaint in error_of(response, 422)


def test_unknown_materials_are_named_alongside_the_choices(client: TestClient) -> None:
    reason = error_of(client.post("/api/quote", json={**SEED_QUOTE, "material": "WOOD"}), 422)

    assert "WOOD" in reason
    for choice in ("PLA", "PETG", "ABS", "TPU"):
        assert choice in reason


# Every money line of the stored breakdown, internal ones included.
MONEY_LINES = (
    "material_cost",
    "electricity_cost",
    "setup_fee",
    "overhead",
    "margin",
    "subtotal",
    "priority_surcharge",
    "pre_tax_total",
    "gst",
    "shipping",
    "total",
    "material_cost_display",
    "printing_cost_display",
    "unit_price",
)

# --- checkout ----------------------------------------------------------------------------

SHIPPING_ADDRESS = {
    "shipping_name": "Maker Person",
    "shipping_phone": "+91 98450 00000",
    "shipping_address": "12 MG Road",
    "shipping_city": "New Delhi",
    "shipping_state": "Delhi",
    "shipping_zip": "110001",
}


def test_checking_out_a_file_places_a_pending_order_with_a_tracking_number(
    client: TestClient, customer: Account
) -> None:
    response = checkout(client, customer, notes="please print it blue-ish", color="Blue")

    assert response.status_code == 201, response.text
    body = response.json()
    order = body["order"]
    assert TRACKING_NUMBER.match(order["tracking_number"]), order["tracking_number"]
    assert order["status"] == "pending" and order["is_paid"] is False
    assert (order["material"], order["color"], order["quantity"]) == ("PLA", "Blue", 2)
    assert order["model"]["volume_cm3"] == pytest.approx(8.0)
    assert order["model"]["filename"] == "cube.stl"
    assert order["price"]["total"] > 0 and order["price"]["currency"] == "INR"
    assert "margin" not in order["price"] and "electricity_cost" not in order["price"]
    assert isinstance(body["position"], int) and body["position"] > 0
    assert response.headers["X-Position"] == str(body["position"])


def test_checking_out_an_earlier_upload_uses_its_analysis(
    client: TestClient, customer: Account
) -> None:
    uploaded = upload(client, customer, "moon.3mf", corpus_file("3mf/Moon.3mf")).json()

    order = place_order(client, customer, model=None, session_id=uploaded["session_id"])

    assert order["status"] == "pending"
    assert order["model"]["file_format"] == "3mf"
    assert order["model"]["body_count"] == 2
    assert order["model"]["volume_cm3"] == pytest.approx(uploaded["volume_cm3"])


def test_a_checkout_needs_a_model_a_session_and_an_owner(
    client: TestClient, customer: Account, rival: Account
) -> None:
    theirs = upload(client, rival, "cube.stl", CUBE_STL).json()["session_id"]

    error_of(checkout(client, customer, model=None), 422)
    error_of(checkout(client, customer, model=None, session_id=theirs), 404)
    error_of(checkout(client, customer, model=None, session_id="x" * 32), 404)
    error_of(checkout(client, customer, material="Unobtainium"), 422)
    error_of(checkout(client, customer, quantity="lots"), 422)
    anonymous = client.post(
        "/api/checkout", data={"material": "PLA"}, files={"model_file": ("c.stl", CUBE_STL)}
    )
    error_of(anonymous, 401)


def test_a_shipping_order_needs_an_address_and_pays_for_shipping(
    client: TestClient, customer: Account
) -> None:
    no_address = checkout(client, customer, fulfillment="shipping")
    assert "shipping" in error_of(no_address, 422)
    only_a_pin = checkout(client, customer, fulfillment="shipping", shipping_zip="110001")
    assert "shipping_name" in error_of(only_a_pin, 422)

    order = place_order(client, customer, fulfillment="shipping", **SHIPPING_ADDRESS)

    assert order["fulfillment"] == "shipping"
    assert order["shipping_address"]["zip"] == "110001"
    assert order["price"]["shipping"] > 0


def test_the_same_idempotency_key_twice_places_one_order(
    client: TestClient, customer: Account, rival: Account
) -> None:
    first = checkout(client, customer, key="cart-7f1c")
    retry = checkout(client, customer, key="cart-7f1c")

    assert first.status_code == 201, first.text
    assert retry.status_code == 200, retry.text
    assert retry.json()["order"]["id"] == first.json()["order"]["id"]
    assert retry.json()["order"]["tracking_number"] == first.json()["order"]["tracking_number"]
    # The key is the customer's own: someone else using it places their own order.
    theirs = checkout(client, rival, key="cart-7f1c")
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["order"]["id"] != first.json()["order"]["id"]


def test_an_idempotency_key_reused_for_different_choices_is_409(
    client: TestClient, customer: Account
) -> None:
    assert checkout(client, customer, key="cart-9d2e").status_code == 201

    changed = checkout(client, customer, key="cart-9d2e", quantity=5)

    assert "Idempotency-Key" in error_of(changed, 409)
    error_of(checkout(client, customer, key="x" * 300), 422)


def test_the_placed_event_records_the_model_and_the_complete_price(
    client: TestClient, customer: Account, admin: Account
) -> None:
    order = place_order(client, customer, priority_print=True)

    response = client.get(f"/api/admin/orders/{order['id']}/history", headers=admin.auth)

    assert response.status_code == 200, response.text
    placed = response.json()["events"][0]
    assert (placed["type"], placed["version"]) == ("Placed", 1)
    assert placed["actor"] == f"customer:{customer.id}"
    model = placed["data"]["model"]
    assert model["triangle_count"] == 12 and model["body_count"] == 1
    assert model["volume_cm3"] == pytest.approx(8.0) and model["is_watertight"] is True
    assert len(model["sha256"]) == 64 and model["filename"] == "cube.stl"
    price = placed["data"]["price"]
    # The event holds every money line as integer paise (never a float), rates as text.
    assert all(type(price[f"{line}_paise"]) is int for line in MONEY_LINES)
    assert price["gst_pct"] == "18" and not any(line in price for line in MONEY_LINES)
    money = {line: Decimal(price[f"{line}_paise"]) / 100 for line in MONEY_LINES}
    internal = ("material_cost", "electricity_cost", "setup_fee", "overhead", "margin")
    for line in internal:
        assert money[line] > 0, line
    assert money["subtotal"] == sum(money[line] for line in internal)
    assert money["pre_tax_total"] == money["subtotal"] + money["priority_surcharge"]
    assert money["priority_surcharge"] == _pct(money["subtotal"], 25)
    assert money["gst"] == _pct(money["pre_tax_total"], 18)
    assert money["total"] == money["pre_tax_total"] + money["gst"] + money["shipping"]
    assert money["material_cost_display"] + money["printing_cost_display"] == money["subtotal"]
    assert (price["material"], price["quantity"], price["priority"]) == ("PLA", 2, True)
    assert price["grams_total"] > 0 and price["print_hours_total"] > 0
    assert price["settings_version"] == 1 == placed["data"]["settings_version"]
    assert _money(order["price"]["total"]) == money["total"]
