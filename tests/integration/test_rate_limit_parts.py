"""Story: the rate limiter's moving parts: a configuration change reaches a process in
about a second, and the PostgreSQL counters stay exact under concurrency and reset per
window."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest

from api.rate_limit import REFRESH_SECONDS, USABLE_SECONDS, CurrentLimits
from domain.rate_limits import DEFAULT_VALUE
from infra.rate_limits import PostgresRateCounters
from tests.support.postgres import PostgresDatabase


def test_another_process_change_applies_within_a_refresh_and_never_after_a_lull() -> None:
    stored = {"value": dict(DEFAULT_VALUE)}
    shop = SimpleNamespace(value=lambda key: stored["value"])
    container: Any = SimpleNamespace(shop=shop)

    async def story() -> None:
        limits = CurrentLimits()
        assert (await limits.get(container)).limit("general").max == 100
        stored["value"] = {**DEFAULT_VALUE, "general_max": 7}  # another process's change
        assert (await limits.get(container)).limit("general").max == 100  # the copy in hand
        await asyncio.sleep(REFRESH_SECONDS)
        await limits.get(container)  # still served at once; a read starts behind it
        await asyncio.sleep(0.15)
        assert limits.fresh() is not None and limits.fresh().limit("general").max == 7
        stored["value"] = {**DEFAULT_VALUE, "general_max": 9}
        await asyncio.sleep(USABLE_SECONDS)  # a lull: the next request waits for a read
        assert (await limits.get(container)).limit("general").max == 9
        stored["value"] = {**DEFAULT_VALUE, "general_max": 11}
        limits.forget()  # a change in this process: at once
        assert (await limits.get(container)).limit("general").max == 11

    asyncio.run(story())


def test_postgres_counters_are_exact_across_threads_and_reset_per_window(
    postgres_db: PostgresDatabase,
) -> None:
    now = [3600.0 * 500_000 + 10]
    first = PostgresRateCounters(postgres_db.dsn, clock=lambda: now[0])
    second = PostgresRateCounters(postgres_db.dsn, clock=lambda: now[0])  # another process
    seen: list[int] = []
    lock = threading.Lock()

    def hammer(counters: PostgresRateCounters) -> None:
        for _ in range(25):
            (hit,) = counters.hit([("general:3600:192.0.2.1", 3600)])
            with lock:
                seen.append(hit.hits)

    try:
        threads = [threading.Thread(target=hammer, args=(c,)) for c in (first, second) * 4]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(seen) == list(range(1, 201))  # every count once: no lost update

        both = first.hit([("general:3600:192.0.2.1", 3600), ("quote:900:192.0.2.1", 900)])
        assert [h.hits for h in both] == [201, 1]
        assert both[0].reset_seconds == pytest.approx(3590)
        now[0] += 3600  # the next window: a new row; the old one is swept
        (fresh,) = second.hit([("general:3600:192.0.2.1", 3600)])
        assert fresh.hits == 1
        with psycopg.connect(postgres_db.dsn) as conn:
            rows = conn.execute("SELECT bucket, hits FROM rate_limit_hits ORDER BY 1").fetchall()
        assert rows == [("general:3600:192.0.2.1", 1)]
    finally:
        first.close()
        second.close()
