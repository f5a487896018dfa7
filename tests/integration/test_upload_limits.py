"""Story: storefront uploads are analysed in a sandbox, and unprintable parts are refused.

A model whose analysis needs more memory or time than allowed is refused with a 422 and the
API goes on serving; callers beyond the workers and their bounded queue get a 503 at once.
Parts too small for the nozzle, and sizes no solid has, are refused on every path that
quotes or orders them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trimesh
from fastapi.testclient import TestClient

from domain.errors import Unavailable
from infra.mesh import SandboxedMeshAnalyzer, UploadGate
from infra.sandbox import Sandbox
from tests.support.factories import cube_stl
from tests.support.http import (
    CUBE_STL,
    Account,
    app_settings,
    checkout,
    error_of,
    register,
    running_app,
    upload,
)

SPECK_STL = cube_stl(0.01)  # a 0.01 mm cube: 0 g of plastic
QUOTE = {"material": "PLA", "quantity": 1, "infill": 20, "fulfillment": "pickup"}
CUBE_20 = {"dim_x_mm": 20, "dim_y_mm": 20, "dim_z_mm": 20}


@pytest.fixture(scope="module")
def big_sphere() -> bytes:
    """327,680 faces (16 MB of STL): tens of MB of arrays to analyse, in about 0.1-0.3 s."""
    exported = trimesh.creation.icosphere(subdivisions=7, radius=50).export(file_type="stl")
    assert isinstance(exported, bytes)
    return exported


def sandbox_of(client: TestClient) -> Sandbox:
    """The storefront analyzer's sandbox inside the running app."""
    analyzer = client.app.state.container.checkout.analyzer  # type: ignore[attr-defined]
    assert isinstance(analyzer, SandboxedMeshAnalyzer)
    return analyzer.sandbox


def gate_of(client: TestClient) -> UploadGate:
    """The gate storefront uploads pass before they are read into memory."""
    gate = client.app.state.container.uploads  # type: ignore[attr-defined]
    assert isinstance(gate, UploadGate)
    return gate


def eventually(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Wait until condition() holds (the other threads have got where the test needs them)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


# --- the sandbox -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limits", "reason"),
    [
        ({"mesh_memory_mb": 40}, "analysis exceeded the memory limit"),
        ({"mesh_timeout_seconds": 0.05}, "analysis exceeded the time limit of 0.05 s"),
    ],
)
def test_an_upload_past_a_limit_is_refused_and_the_api_keeps_serving(
    tmp_path: Path, big_sphere: bytes, limits: dict[str, Any], reason: str
) -> None:
    with running_app(app_settings(tmp_path, mesh_workers=1, **limits)) as client:
        customer = register(client, "greedy")
        assert upload(client, customer, "cube.stl", CUBE_STL).status_code == 201
        assert error_of(upload(client, customer, "sphere.stl", big_sphere), 422) == reason
        # The worker that broke the limit was replaced: the next upload is measured as usual.
        again = upload(client, customer, "cube.stl", CUBE_STL)
        assert again.status_code == 201 and again.json()["volume_cm3"] == pytest.approx(8.0)
        assert client.get("/api/health").json() == {"status": "ok"}


def test_uploads_beyond_the_workers_and_their_queue_get_503_at_once(tmp_path: Path) -> None:
    settings = app_settings(tmp_path, mesh_workers=1, mesh_max_waiting=1)
    with running_app(settings) as client:
        customer = register(client, "crowd")
        assert upload(client, customer, "cube.stl", CUBE_STL).status_code == 201  # pool up
        gate, sandbox = gate_of(client), sandbox_of(client)
        answers: list[httpx.Response] = []

        def send() -> None:
            answers.append(upload(client, customer, "cube.stl", CUBE_STL))

        # Another analysis holds the only worker for a while...
        holder = threading.Thread(target=sandbox.run, args=(time.sleep, 1.5))
        holder.start()
        eventually(lambda: sandbox.running == 1)
        # ...so the one upload admitted waits for the worker, and the next in the queue...
        callers = [threading.Thread(target=send), threading.Thread(target=send)]
        callers[0].start()
        eventually(lambda: gate.inside == 1 and sandbox.waiting == 1)
        callers[1].start()
        eventually(lambda: gate.waiting == 1)
        # ...and the one after is told at once to come back.
        started = time.perf_counter()
        busy = upload(client, customer, "cube.stl", CUBE_STL)
        assert error_of(busy, 503) == "every model analysis worker is busy; try again shortly"
        assert time.perf_counter() - started < 1.0
        for thread in (holder, *callers):
            thread.join()
        assert [answer.status_code for answer in answers] == [201, 201]  # the queue was served
        assert gate.rejected == 1 and gate.inside == gate.waiting == 0


def test_a_queued_upload_waits_a_bounded_time_then_gets_503() -> None:
    async def story() -> None:
        gate = UploadGate(slots=1, max_waiting=1, wait_seconds=0.05)
        async with gate.admitted():
            started = time.perf_counter()
            with pytest.raises(Unavailable, match="busy"):
                async with gate.admitted():
                    pytest.fail("admitted past a full gate")
            assert 0.05 <= time.perf_counter() - started < 1.0
        async with gate.admitted(), gate.admitted(needed=False):  # a checkout without a file
            assert gate.inside == 1
        assert gate.rejected == 1 and gate.inside == gate.waiting == 0

    asyncio.run(story())


def test_a_closed_app_stops_its_upload_workers(tmp_path: Path) -> None:
    with running_app(app_settings(tmp_path, mesh_workers=1)) as client:
        customer = register(client, "closer")
        assert upload(client, customer, "cube.stl", CUBE_STL).status_code == 201
        sandbox = sandbox_of(client)
    with pytest.raises(RuntimeError, match="closed"):
        sandbox.run(time.sleep, 0)


# --- parts no printer can make -----------------------------------------------------------


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with running_app(app_settings(tmp_path_factory.mktemp("printable"))) as running:
        yield running


@pytest.fixture(scope="module")
def customer(client: TestClient) -> Account:
    return register(client, "tinkerer")


@pytest.fixture(scope="module")
def api_key(client: TestClient, customer: Account) -> str:
    org = client.post("/api/orgs", json={"name": "Speck Labs"}, headers=customer.auth)
    assert org.status_code == 201, org.text
    key = client.post(
        f"/api/orgs/{org.json()['id']}/keys", json={"name": "ci"}, headers=customer.auth
    )
    assert key.status_code == 201, key.text
    return str(key.json()["apiKey"])


def test_a_hundredth_of_a_millimetre_cube_is_refused_at_upload(
    client: TestClient, customer: Account
) -> None:
    reason = error_of(upload(client, customer, "speck.stl", SPECK_STL), 422)
    assert "0.01 mm thick" in reason and "0.4 mm nozzle" in reason


def test_a_hundredth_of_a_millimetre_cube_cannot_be_ordered(
    client: TestClient, customer: Account
) -> None:
    reason = error_of(checkout(client, customer, model=("speck.stl", SPECK_STL)), 422)
    assert "0.4 mm nozzle" in reason


@pytest.mark.parametrize(
    ("geometry", "reason"),
    [
        ({**CUBE_20, "volume_cm3": 1e12}, "larger than the part's bounding box"),
        ({**CUBE_20, "volume_cm3": 8, "surface_area_cm2": 0.5}, "smaller than any solid"),
        ({**CUBE_20, "volume_cm3": 1e-7}, "below the smallest feature"),
        ({"dim_x_mm": 0.01, "dim_y_mm": 0.01, "dim_z_mm": 0.01, "volume_cm3": 1e-9}, "0.4 mm"),
    ],
)
def test_sizes_no_printable_solid_has_are_not_quoted(
    client: TestClient, api_key: str, geometry: dict[str, float], reason: str
) -> None:
    body = {**QUOTE, **geometry}
    assert reason in error_of(client.post("/api/quote", json=body), 422)
    developer = client.post("/api/v1/quote", json=body, headers={"X-API-Key": api_key})
    assert reason in error_of(developer, 422)


def test_a_real_part_is_still_quoted(client: TestClient) -> None:
    answer = client.post("/api/quote", json={**QUOTE, **CUBE_20, "volume_cm3": 8})
    assert answer.status_code == 200, answer.text
    assert answer.json()["quote"]["grams_per_unit"] > 0
