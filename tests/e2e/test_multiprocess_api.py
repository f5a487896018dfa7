"""Story: production mode on one PostgreSQL: three API processes, projections in a worker.

`fabledger serve --workers 2` and a second `fabledger serve` take orders while
FABLEDGER_PROJECTIONS_IN_PROCESS=false, so only `fabledger worker projections` folds
them into the read models. A client that just wrote reads its write on the *other*
server (read-your-writes across processes). With the worker stopped (SIGTERM: exit 0
within 10 s) the read answers 503 after the bounded wait; restarted, the worker resumes
from its stored position and the read models hold every order exactly once.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.http import CUBE_STL
from tests.support.postgres import PostgresDatabase
from tests.support.served import create_admin, run_cli, served
from tests.support.worker_process import worker

pytestmark = pytest.mark.slow

ADMIN = {"email": "owner@example.com", "password": "admin password for e2e"}
READ_WAIT = 2.0


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.request.url, response.text)
    return response.json()


def place(http: httpx.Client, auth: dict[str, str], n: int) -> int:
    """Place a pickup order of the cube; its position."""
    placed = _ok(
        http.post(
            "/api/checkout",
            headers=auth,
            files={"model_file": ("cube.stl", CUBE_STL)},
            data={"material": "PLA", "quantity": str(n), "fulfillment": "pickup"},
        ),
        201,
    )
    return int(placed["position"])


@pytest.fixture
def production_env(served_env: dict[str, str], postgres_db: PostgresDatabase) -> dict[str, str]:
    """Several processes on one PostgreSQL, projections only in workers."""
    return {
        **served_env,
        "FABLEDGER_DATABASE_URL": postgres_db.dsn,
        "FABLEDGER_PROJECTIONS_IN_PROCESS": "false",
        "FABLEDGER_READ_WAIT_SECONDS": str(READ_WAIT),
    }


def test_two_servers_and_a_projection_worker_share_one_postgres(
    fabledger_command: list[str], production_env: dict[str, str], tmp_path: Path
) -> None:
    cli, env = fabledger_command, production_env
    create_admin(cli, env, tmp_path, ADMIN["email"], ADMIN["password"])
    projections_log = tmp_path / "projections.log"
    with (
        worker(cli, env, projections_log, "projections", "--interval", "0.2") as projector,
        served(cli, env, tmp_path / "multi.log", "--workers", "2") as multi,
        served(cli, env, tmp_path / "single.log") as single,
    ):
        projector.wait_for_log("worker_started")
        customer = _ok(
            multi.post(
                "/api/auth/register",
                json={"username": "maker", "email": "maker@example.com", "password": "pw for e2e!"},
            ),
            201,
        )
        auth = {"Authorization": f"Bearer {customer['token']}"}
        admin = {
            "Authorization": f"Bearer {_ok(single.post('/api/auth/login', json=ADMIN))['token']}"
        }

        # Each write is read back on the other server, waiting for the worker to fold it.
        for n in range(1, 7):
            writer, reader = (multi, single) if n % 2 else (single, multi)
            position = place(writer, auth, n)
            mine = _ok(
                reader.get("/api/user/orders", headers={**auth, "X-Min-Position": str(position)})
            )
            assert mine["total"] == n and mine["orders"][0]["quantity"] == n

        code, seconds = projector.terminate()
        assert code == 0 and seconds < 10, projector.tail()
        assert "worker_stopped" in projector.tail()

        # Nobody folds the log now: the API must not do it itself, and says so with a 503.
        position = place(single, auth, 7)
        started = time.monotonic()
        waited = multi.get("/api/admin/orders", headers={**admin, "X-Min-Position": str(position)})
        assert waited.status_code == 503, waited.text
        assert "has not reached position" in waited.json()["error"]
        assert READ_WAIT <= time.monotonic() - started < READ_WAIT + 5

        restarted_log = tmp_path / "projections-restarted.log"
        with worker(cli, env, restarted_log, "projections", "--interval", "0.2") as restarted:
            restarted.wait_for_log("worker_started")
            listed = _ok(
                single.get("/api/admin/orders", headers={**admin, "X-Min-Position": str(position)})
            )
            stats = _ok(
                multi.get("/api/admin/stats", headers={**admin, "X-Min-Position": str(position)})
            )
        assert listed["total"] == 7
        assert sorted(o["quantity"] for o in listed["orders"]) == list(range(1, 8))
        assert sum(stats["orders_by_status"].values()) == 7

    status = run_cli(cli, env, tmp_path, "projections", "status")
    assert f"orders: {position} / {position}" in status
    multi_log = (tmp_path / "multi.log").read_text()
    assert multi_log.count("Application startup complete") == 2  # each uvicorn worker's lifespan
