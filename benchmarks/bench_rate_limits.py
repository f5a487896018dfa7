"""Rate-limit cost: a health-class route with the per-IP limits on, against off, 16 clients.

    python -m benchmarks.bench_rate_limits            # SQLite, then PostgreSQL if available
    python -m benchmarks.bench_rate_limits --quick
    python -m benchmarks --only rate_limits --quick

Two servers of the real app (``api.app.create_app``), each a uvicorn subprocess on
127.0.0.1 with its own data dir, and one benchmark-only route, ``GET /api/bench/health``:
the handler of /api/health at a path the general limiter covers (the probes themselves
are never limited). One server has ``rate_limits_enabled`` (the general limiter counts
every request: in a dict of the process on SQLite; on PostgreSQL in the shared
``rate_limit_hits`` table, one upsert per batch of waiting requests), one has not. The
limited one's general limit is raised to 1,000,000 per 15 min first (a shop-setting
change, as an admin's PUT makes it), so nothing is refused and both servers do the same
work but the counting. Alternating rounds (on, off, then off, on, ...) of N requests over
CONCURRENCY keep-alive connections, one client thread each. Ratios are on / off:
throughput (median of per-round ratios; goal >= 0.9), requests per server CPU second
(server, database and client share the cores), and the same route as ASGI calls in this
process (see in_process). Logging is WARNING.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Scope

from api.app import create_app
from api.routers.health import Health, health
from benchmarks.bench_metering import Tally, paired, run_concurrent
from benchmarks.bench_middleware import Served, server_process
from benchmarks.support import (
    Options,
    PgTarget,
    Result,
    add_common_arguments,
    alternating,
    options_from,
    postgres_target,
    print_machine_info,
    print_summary,
    print_table,
    section,
)
from domain.rate_limits import DEFAULT_VALUE, SETTING_KEY
from infra.bootstrap import Container, bootstrap
from infra.settings import Settings

REPO = Path(__file__).resolve().parents[1]
CONCURRENCY = 16
GOAL = 0.9  # limited / unlimited requests per second, at least
NEVER_TRIPS = 1_000_000
ROUTE = "/api/bench/health"


def build(data_dir: Path, database_url: str, limited: bool) -> tuple[FastAPI, Container]:
    """The app with or without rate limits (the limit raised out of reach), and its container."""
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        jwt_secret="benchmark-jwt-secret-long-enough-for-hs256-signing",
        log_level="WARNING",
        projections_in_process=False,  # no background folding to disturb either side
        rate_limits_enabled=limited,
    )
    container = bootstrap(settings)
    if limited:
        raised = {**DEFAULT_VALUE, "general_max": NEVER_TRIPS}
        container.shop.change(SETTING_KEY, raised, actor="bench:setup")
    app = create_app(settings, container=container)
    app.add_api_route(ROUTE, health, methods=["GET"], response_model=Health)
    return app, container


def serve(data_dir: Path, database_url: str, port: int, limited: bool) -> None:
    """A benchmark server until SIGTERM."""
    app, container = build(data_dir, database_url, limited)
    try:
        uvicorn.run(
            app, host="127.0.0.1", port=port, log_config=None, access_log=False, log_level="warning"
        )
    finally:
        container.close()


def server(workdir: Path, database_url: str, limited: bool) -> AbstractContextManager[Served]:
    """A benchmark server in a subprocess until the block ends."""
    return server_process(
        "benchmarks.bench_rate_limits",
        workdir,
        *("--database-url", database_url, "--limits", "on" if limited else "off"),
    )


def check_servers(on: str, off: str) -> None:
    """Only the limited server counts, and its limit is out of reach."""
    with httpx.Client(timeout=30) as client:
        limited, unlimited = client.get(f"{on}{ROUTE}"), client.get(f"{off}{ROUTE}")
    assert limited.status_code == unlimited.status_code == 200
    assert f'"general";q={NEVER_TRIPS};w=900' in limited.headers["ratelimit-policy"], (
        limited.headers
    )
    assert "ratelimit" not in unlimited.headers, unlimited.headers


def bench_backend(backend: str, workdir: Path, database_url: str, quick: bool) -> list[Result]:
    """Both servers on one backend: a table, and two summary rows."""
    rounds, per_client = (8, 50) if quick else (12, 200)  # many short rounds: a busy machine
    n = CONCURRENCY * per_client
    with ExitStack() as stack:
        on = stack.enter_context(server(workdir / "on", database_url, limited=True))
        off = stack.enter_context(server(workdir / "off", database_url, limited=False))
        check_servers(on.base_url, off.base_url)
        sides = [
            (Tally("limited", lambda c, u=on.base_url: c.get(f"{u}{ROUTE}")), on),
            (Tally("unlimited", lambda c, u=off.base_url: c.get(f"{u}{ROUTE}")), off),
        ]
        cpu = {id(tally): 0.0 for tally, _ in sides}
        clients = [stack.enter_context(httpx.Client(timeout=60)) for _ in range(CONCURRENCY)]
        for tally, _ in sides:  # connections open, caches and counters warm
            run_concurrent(clients, tally, CONCURRENCY * 20)
            tally.concurrent_requests = 0
            tally.concurrent_seconds = 0.0
            tally.round_concurrent_rate.clear()
        for _, order in alternating(rounds, sides):
            for tally, served in order:
                before = served.cpu_seconds()
                run_concurrent(clients, tally, n)
                cpu[id(tally)] += served.cpu_seconds() - before
        with httpx.Client(timeout=30) as client:
            left = client.get(f"{on.base_url}{ROUTE}").headers["ratelimit"]
    asgi = in_process(workdir / "asgi", database_url, rounds * 2, per_client * 2)
    (limited, _), (unlimited, _) = sides
    throughput = paired(limited.round_concurrent_rate, unlimited.round_concurrent_rate)
    us = {
        name: cpu[id(t)] / t.concurrent_requests * 1e6
        for name, t in (("on", limited), ("off", unlimited))
    }
    section(f"rate limits, {backend}: GET {ROUTE}, limits on vs off")
    print(f"{rounds} alternating rounds x {n} requests over {CONCURRENCY} connections")
    print_table(
        ["server", f"req/s ({CONCURRENCY} conns)", "server CPU us/req", "requests"],
        [
            [t.name, f"{t.concurrent_rate:,.0f}", f"{us[k]:.0f}", f"{t.concurrent_requests:,}"]
            for k, t in (("on", limited), ("off", unlimited))
        ],
        align="lrrr",
    )
    print(f"limited server's last answer: RateLimit: {left}  (never refused)")
    print(
        f"throughput on/off {throughput:.3f}x (median of per-round ratios), server CPU per"
        f" request {us['on']:.0f} vs {us['off']:.0f} us (capacity {us['off'] / us['on']:.3f}x)"
        f"  goal >= {GOAL:g}"
    )
    asgi_ratio = paired(*asgi)
    print(
        f"in-process ASGI calls, {CONCURRENCY} tasks, no HTTP: {statistics.median(asgi[0]):,.0f}"
        f" vs {statistics.median(asgi[1]):,.0f} req/s, on/off {asgi_ratio:.3f}x (median of"
        f" {len(asgi[0])} per-round ratios)"
    )
    return [
        Result(
            "rate_limits",
            backend,
            f"GET {ROUTE}, {CONCURRENCY} conns",
            limited.concurrent_rate,
            unlimited.concurrent_rate,
            goal=GOAL,
            note="median of per-round throughput ratios",
            paired_ratio=throughput,
        ),
        Result(
            "rate_limits",
            backend,
            f"GET {ROUTE}, server CPU",
            1e6 / us["on"],
            1e6 / us["off"],
            goal=GOAL,
            note="requests per server CPU second",
        ),
        Result(
            "rate_limits",
            backend,
            f"GET {ROUTE}, in-process ASGI",
            statistics.median(asgi[0]),
            statistics.median(asgi[1]),
            goal=GOAL,
            note=f"{CONCURRENCY} tasks on one loop, no HTTP; median of per-round ratios",
            paired_ratio=asgi_ratio,
        ),
    ]


async def _call(app: ASGIApp) -> None:
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "path": ROUTE,
        "raw_path": ROUTE.encode(),
        "root_path": "",
        "scheme": "http",
        "query_string": b"",
        "headers": [],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    statuses: list[int] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)
    assert statuses == [200], statuses


async def _started(app: ASGIApp) -> asyncio.Task[None]:
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    outbox: asyncio.Queue[Message] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    lifespan: Scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.create_task(app(lifespan, inbox.get, outbox.put))  # type: ignore[arg-type]
    assert (await outbox.get())["type"] == "lifespan.startup.complete"
    return task


def in_process(
    workdir: Path, database_url: str, rounds: int, per_task: int
) -> tuple[list[float], list[float]]:
    """Per-round requests per second (on, off) of ASGI calls in this process: CONCURRENCY tasks
    on one event loop, no HTTP, no client process competing for the cores; the apps
    alternate round by round. Stricter than a server: the clients are the loop's only
    work, so on PostgreSQL the loop idles whenever all of them wait for one upsert."""
    built = [build(workdir / side, database_url, side == "on") for side in ("on", "off")]

    async def measure() -> tuple[list[float], list[float]]:
        lifespans = [await _started(app) for app, _ in built]  # kept: a dropped task is collected

        async def rate(app: ASGIApp, calls: int) -> float:
            async def task() -> None:
                for _ in range(calls):
                    await _call(app)

            started = time.perf_counter()
            await asyncio.gather(*(task() for _ in range(CONCURRENCY)))
            return CONCURRENCY * calls / (time.perf_counter() - started)

        for app, _ in built:
            await rate(app, per_task // 5)  # warm up
        rates: tuple[list[float], list[float]] = ([], [])
        for index in range(rounds):
            for side in (0, 1) if index % 2 == 0 else (1, 0):
                rates[side].append(await rate(built[side][0], per_task))
        for task in lifespans:
            task.cancel()
        return rates

    try:
        return asyncio.run(measure())
    finally:
        for _, container in built:
            container.close()


def run(quick: bool = False, pg: PgTarget | None = None) -> list[Result]:
    """SQLite (in-process counters), then PostgreSQL (shared counters) when there is one."""
    with tempfile.TemporaryDirectory(prefix="bench-rate-limits-") as tmp:
        results = bench_backend("sqlite", Path(tmp) / "sqlite", "", quick)
        if pg is not None:
            with pg.database("ratelimits") as dsn:
                results += bench_backend("postgres", Path(tmp) / "postgres", dsn, quick)
    return results


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (also the benchmark servers', with --serve)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--limits", choices=("on", "off"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.data_dir, args.database_url, args.port, args.limits == "on")
        return 0
    options: Options = options_from(args)
    with postgres_target(options) as pg:
        print_machine_info(pg.facts() if pg else ())
        results = run(options.quick, pg)
    print_summary(results, "Summary (ours = limits on, baseline = off)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
