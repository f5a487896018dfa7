"""Story: whatever goes wrong, a client gets a status and exactly {"error": "..."}.

Unknown routes, wrong methods, broken JSON, the wrong content type, ids that cannot name
an order and reads that wait too long for the projections all answer in the one shape,
with an X-Request-ID to quote to support.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.http import (
    CUBE_STL,
    Account,
    app_settings,
    error_of,
    register,
    running_app,
)

REQUEST_ID = re.compile(r"^[0-9a-f]{16}$")


JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
TEXT = {"Content-Type": "text/plain"}

# (who asks, method, path, request options, expected status)
FAILURES = {
    "unknown route": ("anyone", "GET", "/api/nothing-here", {}, 404),
    "unknown route outside the api": ("anyone", "GET", "/wp-login.php", {}, 404),
    "method not allowed": ("anyone", "DELETE", "/api/materials", {}, 405),
    "malformed JSON": (
        "anyone",
        "POST",
        "/api/auth/login",
        {"content": b"{", "headers": JSON},
        422,
    ),
    "JSON that is not an object": ("anyone", "POST", "/api/quote", {"json": [1, 2, 3]}, 422),
    "missing field": ("anyone", "POST", "/api/auth/register", {"json": {"email": "a@b.co"}}, 422),
    "wrong type": ("anyone", "POST", "/api/quote", {"json": {"material": 1, "quantity": "x"}}, 422),
    "form where JSON is expected": (
        "anyone",
        "POST",
        "/api/auth/login",
        {"content": b"email=a%40b.co&password=x", "headers": FORM},
        422,
    ),
    "text where JSON is expected": (
        "anyone",
        "POST",
        "/api/auth/login",
        {"content": b'{"email": "a@b.co", "password": "x"}', "headers": TEXT},
        422,
    ),
    "JSON where a form is expected": (
        "customer",
        "POST",
        "/api/checkout",
        {"json": {"material": "PLA"}},
        422,
    ),
    "no session": ("anyone", "GET", "/api/user/orders", {}, 401),
    "not staff": ("customer", "GET", "/api/mod/orders", {}, 403),
    "order id that is not a UUID": ("admin", "GET", "/api/admin/orders/123", {}, 404),
    "customer order id that is not a UUID": (
        "customer",
        "GET",
        "/api/user/orders/1 OR 1=1",
        {},
        404,
    ),
    "moving an order id that is not a UUID": (
        "admin",
        "PATCH",
        "/api/mod/orders/DROP TABLE/status",
        {"json": {"status": "confirmed"}},
        404,
    ),
    "negative read position": (
        "anyone",
        "GET",
        "/api/track/FL-1",
        {"headers": {"X-Min-Position": "-1"}},
        422,
    ),
    "read position not a number": (
        "anyone",
        "GET",
        "/api/track/FL-1",
        {"params": {"min_position": "x"}},
        422,
    ),
}


@pytest.mark.parametrize(
    ("who", "method", "path", "options", "status"), FAILURES.values(), ids=FAILURES.keys()
)
def test_every_failure_answers_exactly_one_error_field(
    client: TestClient,
    customer: Account,
    admin: Account,
    who: str,
    method: str,
    path: str,
    options: dict[str, Any],
    status: int,
) -> None:
    as_who = {"admin": admin.auth, "customer": customer.auth}.get(who, {})
    options = {**options, "headers": {**as_who, **options.get("headers", {})}}

    response = client.request(method, path, **options)

    error_of(response, status)
    assert "detail" not in response.text
    assert REQUEST_ID.match(response.headers.get("X-Request-ID", ""))


@pytest.fixture(scope="module")
def order_id(client: TestClient, customer: Account) -> str:
    """One order of the customer's."""
    placed = client.post(
        "/api/checkout",
        headers=customer.auth,
        data={"material": "PLA"},
        files={"model_file": ("cube.stl", CUBE_STL)},
    )
    assert placed.status_code == 201, placed.text
    return str(placed.json()["order"]["id"])


BEYOND_INT64 = str(10**19)
SMALL_PART = {"dim_x_mm": 10, "dim_y_mm": 10, "dim_z_mm": 10, "volume_cm3": 1, "material": "PLA"}


@pytest.mark.parametrize(
    ("who", "method", "path", "options"),
    [
        ("admin", "GET", "/api/admin/orders", {"params": {"page": BEYOND_INT64}}),
        ("customer", "GET", "/api/user/orders", {"params": {"page": BEYOND_INT64}}),
        ("admin", "GET", "/api/admin/orders/{order}", {"params": {"as_of": BEYOND_INT64}}),
        ("admin", "GET", "/api/admin/orders/{order}", {"params": {"as_of": "\u00b2"}}),
        ("anyone", "POST", "/api/quote", {"json": {**SMALL_PART, "dim_z_mm": 1e300}}),
        ("anyone", "POST", "/api/quote", {"json": {**SMALL_PART, "volume_cm3": 1e300}}),
        (
            "anyone",
            "POST",
            "/api/quote",
            {"json": {**SMALL_PART, "dim_x_mm": 1e308, "dim_y_mm": 1e308, "volume_cm3": 1e308}},
        ),
    ],
    ids=[
        "staff list page past int64",
        "customer list page past int64",
        "as_of version past int64",
        "as_of superscript two",
        "part 1e300 mm tall",
        "part of 1e300 cm3",
        "part 1e308 mm wide",
    ],
)
def test_numbers_beyond_any_sensible_range_are_refused_not_a_crash(
    client: TestClient,
    customer: Account,
    admin: Account,
    order_id: str,
    who: str,
    method: str,
    path: str,
    options: dict[str, Any],
) -> None:
    headers = {"admin": admin.auth, "customer": customer.auth}.get(who, {})

    response = client.request(method, path.format(order=order_id), headers=headers, **options)

    assert response.status_code < 500, response.text
    if response.status_code != 200:
        error_of(response, response.status_code)


def test_broken_json_is_named_in_the_error(client: TestClient) -> None:
    response = client.post(
        "/api/auth/login", content=b'{"email": ', headers={"Content-Type": "application/json"}
    )

    assert "JSON" in error_of(response, 422)


def test_a_405_says_which_methods_the_route_has(client: TestClient) -> None:
    response = client.put("/api/health")

    error_of(response, 405)
    # RFC 9110 15.5.6: a 405 MUST carry Allow with the methods the resource supports.
    assert "GET" in response.headers.get("Allow", "")


def test_every_response_carries_its_own_request_id(client: TestClient) -> None:
    responses = [
        client.get("/api/health"),
        client.get("/api/materials"),
        client.get("/api/nothing-here"),
        client.post("/api/quote", json={}),
    ]

    ids = [r.headers.get("X-Request-ID", "") for r in responses]
    assert all(REQUEST_ID.match(i) for i in ids), ids
    assert len(set(ids)) == len(ids)
    assert responses[0].json() == {"status": "ok"}


def test_a_rejected_oversize_upload_still_has_a_request_id_and_the_error_shape(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    settings = app_settings(tmp_path_factory.mktemp("capped"), max_file_size_mb=1)
    with running_app(settings) as client:
        response = client.post(
            "/api/upload-for-cart",
            files={"model_file": ("big.stl", CUBE_STL + b" " * (2 * 1024 * 1024))},
        )

    error_of(response, 413)
    assert REQUEST_ID.match(response.headers.get("X-Request-ID", ""))


IMPATIENCE = 3.0  # seconds


@pytest.fixture(scope="module")
def impatient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Account]]:
    """An app that waits at most 3 s for its read models (a refusal must not take half that)."""
    settings = app_settings(tmp_path_factory.mktemp("impatient"), read_wait_seconds=IMPATIENCE)
    with running_app(settings) as client:
        yield client, register(client, "hasty")


@pytest.mark.parametrize(
    ("path", "how"),
    [
        ("/api/track/FL-0000-0000-0000-0000", "header"),
        ("/api/user/orders", "header"),
        ("/api/user/orders", "query"),
    ],
)
def test_a_read_that_waits_for_a_position_no_write_produced_is_422_at_once(
    impatient: tuple[TestClient, Account], path: str, how: str
) -> None:
    # Beyond the head of the log: waiting cannot help (503 after a real wait:
    # tests/integration/test_read_waits.py).
    client, customer = impatient
    far_future = str(10**12)
    options: dict[str, Any] = {"headers": dict(customer.auth)}
    if how == "header":
        options["headers"]["X-Min-Position"] = far_future
    else:
        options["params"] = {"min_position": far_future}

    started = time.monotonic()
    response = client.get(path, **options)
    waited = time.monotonic() - started

    assert "beyond the head" in error_of(response, 422)
    assert waited < IMPATIENCE / 2, waited  # room for a pause of the test process


def test_a_read_at_a_position_already_reached_answers_at_once(
    impatient: tuple[TestClient, Account],
) -> None:
    client, customer = impatient
    placed = client.post(
        "/api/checkout",
        headers=customer.auth,
        data={"material": "PLA"},
        files={"model_file": ("cube.stl", CUBE_STL)},
    )
    assert placed.status_code == 201, placed.text

    response = client.get(
        "/api/user/orders",
        headers={**customer.auth, "X-Min-Position": placed.headers["X-Position"]},
    )

    assert response.status_code == 200, response.text
    assert [o["id"] for o in response.json()["orders"]] == [placed.json()["order"]["id"]]
