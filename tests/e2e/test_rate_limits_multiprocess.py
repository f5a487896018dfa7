"""Story: two `fabledger serve` processes on one PostgreSQL share every rate-limit count.

An admin lowers the general limit on one server; the other applies it within about a
second. Then concurrent clients, split evenly over both servers, fire more requests than
the limit from one address: exactly the limit succeeds in the window, each success with
its own remaining count (no two processes handed out the same slot), and the rest are
429 with Retry-After and the RateLimit headers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from api.rate_limit import USABLE_SECONDS
from tests.support.postgres import PostgresDatabase
from tests.support.served import create_admin, served

pytestmark = pytest.mark.slow

ADMIN = {"email": "owner@example.com", "password": "admin password for e2e"}
LIMIT = 40
WINDOW_MIN = 120  # a window length nothing used yet: a count from zero
CLIENTS, EACH = 8, 12  # 96 requests, 48 per server


def wait_until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def burst(servers: list[httpx.Client]) -> list[httpx.Response]:
    """CLIENTS threads, each on its own connection to one server (alternating), at once."""
    answers: list[httpx.Response] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    def client(base_url: str) -> None:
        with httpx.Client(base_url=base_url, timeout=30) as http:
            start.wait()
            mine = [http.get("/api/materials") for _ in range(EACH)]
        with lock:
            answers.extend(mine)

    threads = [
        threading.Thread(target=client, args=(str(servers[n % 2].base_url),))
        for n in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_two_servers_on_one_postgres_let_exactly_the_limit_through(
    fabledger_command: list[str],
    served_env: dict[str, str],
    postgres_db: PostgresDatabase,
    tmp_path: Path,
) -> None:
    cli = fabledger_command
    env = {
        **served_env,
        "FABLEDGER_DATABASE_URL": postgres_db.dsn,
        "FABLEDGER_RATE_LIMITS_ENABLED": "true",
    }
    create_admin(cli, env, tmp_path, ADMIN["email"], ADMIN["password"])
    with served(cli, env, tmp_path / "a.log") as a, served(cli, env, tmp_path / "b.log") as b:
        token = a.post("/api/auth/login", json=ADMIN).json()["token"]
        admin = {"Authorization": f"Bearer {token}"}
        change = {"general_window_min": WINDOW_MIN, "general_max": LIMIT}
        put = a.put("/api/admin/rate-limiter", headers=admin, json=change)
        assert put.status_code == 200, put.text

        # The admin is spared by the general limiter: these reads count for nothing.
        def applied() -> bool:
            return bool(
                b.get("/api/admin/rate-limiter", headers=admin).json()["general_max"] == LIMIT
            )

        wait_until(applied)
        time.sleep(2 * USABLE_SECONDS)  # the middleware's own copy, on top of the shop cache
        window = WINDOW_MIN * 60
        if window - time.time() % window < 30:  # a burst must not straddle two windows
            time.sleep(window - time.time() % window + 1)

        answers = burst([a, b])

    statuses = [answer.status_code for answer in answers]
    assert len(statuses) == CLIENTS * EACH
    assert statuses.count(200) == LIMIT, statuses
    assert statuses.count(429) == CLIENTS * EACH - LIMIT, statuses
    remaining = []
    for answer in answers:
        assert answer.headers["RateLimit-Policy"] == f'"general";q={LIMIT};w={window}'
        state = answer.headers["RateLimit"]
        remaining.append(int(state.split(";r=")[1].split(";")[0]))
        if answer.status_code == 429:
            assert int(answer.headers["Retry-After"]) > 0
            assert "general limit" in answer.json()["error"]
    # Each success took its own slot: the remaining counts are LIMIT-1 ... 0, once each.
    ok_remaining = sorted(r for r, s in zip(remaining, statuses, strict=True) if s == 200)
    assert ok_remaining == list(range(LIMIT))
