"""Story: many customers redeem one coupon at the same moment; its limits hold exactly.

Each redemption writes the coupon stream's next version in the same save as its order, so
the store accepts one writer per version: K of N concurrent checkouts win a K-use coupon,
the others are told it is used up, and no order exists without its use (or a use without
its order). Shown with threads on one app (SQLite), on two apps sharing the SQLite files
(no in-process lock between them: the version check alone decides), and on PostgreSQL with
two `fabledger serve` processes.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.support.http import (
    CUBE_STL,
    Account,
    after,
    app_settings,
    register,
    running_app,
    staff,
    upload,
)
from tests.support.postgres import PostgresDatabase
from tests.support.served import create_admin, served

N, K = 16, 5
ADMIN = {"email": "owner@example.com", "password": "admin password for e2e"}


def hammer(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Every call in its own thread, released together."""
    answers: list[httpx.Response] = []
    lock = threading.Lock()
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], httpx.Response]) -> None:
        start.wait()
        answer = call()
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(answers) == len(calls), "a checkout never answered"
    return answers


def outcome(answers: list[httpx.Response]) -> Counter[str]:
    """201s, and the refusals by reason (anything else is named in full)."""
    seen: Counter[str] = Counter()
    for answer in answers:
        if answer.status_code == 201:
            seen["placed"] += 1
        elif answer.status_code == 422 and "is used up" in answer.json()["error"]:
            seen["used up"] += 1
        elif answer.status_code == 422 and "already used" in answer.json()["error"]:
            seen["already used"] += 1
        else:
            seen[f"{answer.status_code} {answer.text}"] += 1
    return seen


def checkout_call(
    http: TestClient | httpx.Client, auth: dict[str, str], session: str, code: str
) -> Callable[[], httpx.Response]:
    form = {"material": "PLA", "quantity": "1", "session_id": session, "coupon_code": code}
    return lambda: http.post("/api/checkout", headers=auth, data=form)


def new_coupon(http: TestClient | httpx.Client, auth: dict[str, str], **fields: Any) -> str:
    made = http.post("/api/admin/coupons", headers=auth, json=fields)
    assert made.status_code == 201, made.text
    return str(made.json()["coupon"]["id"])


def shoppers(client: TestClient, prefix: str, count: int) -> list[tuple[Account, str]]:
    """Customers with an upload session each (checkouts then need no mesh analysis)."""
    found = []
    for n in range(count):
        account = register(client, f"{prefix}{n}")
        session = upload(client, account, "cube.stl", CUBE_STL)
        assert session.status_code == 201, session.text
        found.append((account, str(session.json()["session_id"])))
    return found


def test_k_of_n_threads_win_a_k_use_coupon_and_each_customer_keeps_their_limit(
    tmp_path: Path,
) -> None:
    with running_app(app_settings(tmp_path)) as client:
        admin = staff(client, "admin", "boss").auth
        coupon_id = new_coupon(client, admin, code="RUSH-5", percent_off=10, max_uses=K)
        people = shoppers(client, "rush", N)

        answers = hammer([checkout_call(client, a.auth, s, "RUSH-5") for a, s in people])

        assert outcome(answers) == {"placed": K, "used up": N - K}
        detail = client.get(f"/api/admin/coupons/{coupon_id}", headers=admin).json()
        assert detail["uses"] == K and detail["remaining_uses"] == 0
        winners = {a.json()["order"]["id"] for a in answers if a.status_code == 201}
        newest = max(a.json()["position"] for a in answers if a.status_code == 201)
        listed = client.get(
            "/api/admin/orders", params={"limit": 100}, headers={**admin, **after(newest)}
        ).json()
        assert {o["id"] for o in listed["orders"]} == winners  # no order without its use
        [row] = client.get(
            "/api/admin/coupons", params={"q": "RUSH-5"}, headers={**admin, **after(newest)}
        ).json()["coupons"]
        assert row["uses"] == K and row["customers"] == K

        # One customer, many tabs: a coupon usable twice per customer is used twice.
        new_coupon(client, admin, code="TWICE", percent_off=5, max_uses_per_customer=2)
        account, session = people[0]
        answers = hammer([checkout_call(client, account.auth, session, "TWICE")] * 8)
        assert outcome(answers) == {"placed": 2, "already used": 6}


def test_two_apps_on_one_sqlite_store_share_the_limit(tmp_path: Path) -> None:
    """No lock is shared between the two: only the coupon stream's version check decides."""
    with (
        running_app(app_settings(tmp_path)) as first,
        running_app(app_settings(tmp_path)) as second,
    ):
        admin = staff(first, "admin", "boss").auth
        coupon_id = new_coupon(first, admin, code="SPLIT-5", percent_off=10, max_uses=K)
        people = shoppers(first, "split", N)
        calls = [
            checkout_call(first if n % 2 else second, a.auth, s, "SPLIT-5")
            for n, (a, s) in enumerate(people)
        ]

        answers = hammer(calls)

        assert outcome(answers) == {"placed": K, "used up": N - K}
        for client in (first, second):
            detail = client.get(f"/api/admin/coupons/{coupon_id}", headers=admin).json()
            assert detail["uses"] == K


# --- PostgreSQL, two API processes ------------------------------------------------------


@pytest.fixture
def fabledger_command() -> list[str]:
    """The installed console script next to this Python, or the module it runs."""
    script = Path(sys.executable).with_name("fabledger")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "workers.cli"]


@pytest.fixture
def production_env(tmp_path: Path, postgres_db: PostgresDatabase) -> dict[str, str]:
    """Two API processes on one PostgreSQL database (and one data dir for the uploads)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FABLEDGER_")}
    env.pop("MAX_FILE_SIZE_MB", None)
    env.update(
        {
            "FABLEDGER_DATA_DIR": str(tmp_path / "data"),
            "FABLEDGER_JWT_SECRET": "e2e-jwt-secret-long-enough-for-hs256-signing",
            "FABLEDGER_DATABASE_URL": postgres_db.dsn,
            "FABLEDGER_READ_WAIT_SECONDS": "10",
            "FABLEDGER_RATE_LIMITS_ENABLED": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (response.request.url, response.text)
    return response.json()


@pytest.mark.slow
def test_k_of_n_win_across_two_api_processes_on_postgres(
    fabledger_command: list[str], production_env: dict[str, str], tmp_path: Path
) -> None:
    cli, env = fabledger_command, production_env
    create_admin(cli, env, tmp_path, ADMIN["email"], ADMIN["password"])
    with (
        served(cli, env, tmp_path / "a.log") as server_a,
        served(cli, env, tmp_path / "b.log") as server_b,
    ):
        servers = [server_a, server_b]
        admin = {
            "Authorization": f"Bearer {_ok(server_a.post('/api/auth/login', json=ADMIN))['token']}"
        }
        coupon_id = _ok(
            server_b.post(
                "/api/admin/coupons",
                headers=admin,
                json={"code": "PG-RUSH", "amount_off": 25, "max_uses": K},
            ),
            201,
        )["coupon"]["id"]
        people = []
        for n in range(N):
            http = servers[n % 2]
            body = {"username": f"pg{n}", "email": f"pg{n}@example.com", "password": "pw for e2e!"}
            token = _ok(http.post("/api/auth/register", json=body), 201)["token"]
            auth = {"Authorization": f"Bearer {token}"}
            session = _ok(
                http.post(
                    "/api/upload-for-cart",
                    headers=auth,
                    files={"model_file": ("cube.stl", CUBE_STL)},
                ),
                201,
            )["session_id"]
            people.append((auth, session))

        # Each thread has its own connection to one of the two processes.
        def call(
            n: int, code: str, auth: dict[str, str], session: str
        ) -> Callable[[], httpx.Response]:
            def run() -> httpx.Response:
                with httpx.Client(base_url=str(servers[n % 2].base_url), timeout=60) as http:
                    return checkout_call(http, auth, session, code)()

            return run

        answers = hammer([call(n, "PG-RUSH", a, s) for n, (a, s) in enumerate(people)])

        assert outcome(answers) == {"placed": K, "used up": N - K}
        newest = max(a.json()["position"] for a in answers if a.status_code == 201)
        for http in servers:
            detail = _ok(http.get(f"/api/admin/coupons/{coupon_id}", headers=admin))
            assert detail["uses"] == K and detail["discount_total"] == 25 * K
            listed = _ok(
                http.get(
                    "/api/admin/coupons",
                    params={"q": "PG-RUSH"},
                    headers={**admin, "X-Min-Position": str(newest)},
                )
            )
            assert listed["coupons"][0]["uses"] == K
            orders = _ok(
                http.get(
                    "/api/admin/orders",
                    params={"limit": 100},
                    headers={**admin, "X-Min-Position": str(newest)},
                )
            )
            assert orders["total"] == K

        # One customer on both processes at once: two uses per customer, exactly two.
        _ok(
            server_a.post(
                "/api/admin/coupons",
                headers=admin,
                json={"code": "PG-TWICE", "percent_off": 5, "max_uses_per_customer": 2},
            ),
            201,
        )
        auth, session = people[0]
        answers = hammer([call(n, "PG-TWICE", auth, session) for n in range(8)])
        assert outcome(answers) == {"placed": 2, "already used": 6}
