"""Middleware cost: /api/health and /api/quote with metrics and body caps on, against off.

    python -m benchmarks.bench_middleware            # more rounds
    python -m benchmarks.bench_middleware --quick

Two servers of the real app (``api.app.create_app``), each a uvicorn subprocess on
127.0.0.1 with its own SQLite data dir and in-process projections, as in
benchmarks/bench_metering.py: one built with ``instrument=True`` (the default: the
/metrics request middleware and the body caps), one with ``instrument=False`` (both left
out; request id and CORS middleware stay in both). Same client (httpx, keep-alive),
alternating rounds (on, off, then off, on, ...). Each round times N sequential requests
on one connection and N over CONCURRENCY connections, for GET /api/health and for
POST /api/quote (a JSON body of a 20 mm cube in PLA). Ratios are on / off requests per
second; the goal is >= 0.95. Per-request logging is off (WARNING) in both servers.

Throughput on a machine others are using is noisy (both servers share 2 cores with the
client), so each run also reads the server process's CPU time (/proc): requests per
server CPU second, on / off, is the steadier figure. Last, both paths are timed
as ASGI calls in this process, both apps in one event loop with their requests
interleaved one by one: median microseconds per request, without HTTP around them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from starlette.types import ASGIApp, Message, Scope

from api.app import create_app
from benchmarks.bench_metering import (
    CONCURRENCY,
    START_TIMEOUT,
    Send,
    Tally,
    _free_port,
    paired,
    print_tallies,
    run_concurrent,
    run_sequential,
)
from benchmarks.support import Result, alternating, print_machine_info, print_summary, section
from infra.settings import Settings

REPO = Path(__file__).resolve().parents[1]
GOAL = 0.95  # instrumented / uninstrumented requests per second, at least
QUOTE_BODY = {
    "material": "PLA",
    "dim_x_mm": 20,
    "dim_y_mm": 20,
    "dim_z_mm": 20,
    "volume_cm3": 8,
    "quantity": 1,
}


def _settings(data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        jwt_secret="benchmark-jwt-secret-long-enough-for-hs256-signing",
        log_level="WARNING",
        projections_in_process=True,
        rate_limits_enabled=False,  # one client address, thousands of requests: measured apart
    )


def serve(data_dir: Path, port: int, instrument: bool) -> None:
    """The app, with or without its instrumentation, until SIGTERM."""
    app = create_app(_settings(data_dir), instrument=instrument)
    uvicorn.run(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, log_level="warning"
    )


@dataclass(frozen=True)
class Served:
    """A running benchmark server: where it listens and its process (for its CPU time)."""

    base_url: str
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (Linux /proc; NaN elsewhere)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def server_process(module: str, workdir: Path, *args: str) -> Iterator[Served]:
    """`python -m <module> --serve --port P --data-dir D <args>` until the block ends."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    log = workdir / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FABLEDGER_")}
    env.pop("MAX_FILE_SIZE_MB", None)
    argv = [sys.executable, "-m", module, "--serve", "--port", str(port)]
    argv += ["--data-dir", str(workdir / "data"), *args]
    with log.open("ab") as sink:
        process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"benchmark server exited:\n{log.read_text()[-4000:]}")
            try:
                if httpx.get(f"{base_url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"benchmark server not up:\n{log.read_text()[-4000:]}")
            time.sleep(0.1)
        yield Served(base_url, process.pid)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def server(workdir: Path, instrument: bool) -> AbstractContextManager[Served]:
    """A benchmark server in a subprocess until the block ends."""
    return server_process(
        "benchmarks.bench_middleware", workdir, "--instrument", "on" if instrument else "off"
    )


def health(base_url: str) -> Send:
    return lambda client: client.get(f"{base_url}/api/health")


def quote(base_url: str) -> Send:
    return lambda client: client.post(f"{base_url}/api/quote", json=QUOTE_BODY)


def check_servers(on: str, off: str) -> None:
    """Same answers from both; only the instrumented one has /metrics and the JSON cap."""
    with httpx.Client(timeout=30) as client:
        quotes = [quote(url)(client) for url in (on, off)]
        assert all(q.status_code == 200 for q in quotes), [q.text for q in quotes]
        assert quotes[0].json() == quotes[1].json(), [q.json() for q in quotes]
        assert client.get(f"{on}/metrics").status_code == 200
        assert client.get(f"{off}/metrics").status_code == 404
        big = b'{"material": "PLA", "pad": "' + b"x" * 2_000_000 + b'"}'
        headers = {"content-type": "application/json"}
        capped = client.post(f"{on}/api/quote", content=big, headers=headers)
        uncapped = client.post(f"{off}/api/quote", content=big, headers=headers)
        assert capped.status_code == 413, capped.text
        assert uncapped.status_code != 413, uncapped.text  # read whole, then answered


def counted_requests(base_url: str, route: str) -> float:
    """Requests /metrics counted under a route template (any method and status)."""
    text = httpx.get(f"{base_url}/metrics", timeout=30).text
    prefix = "fabledger_http_requests_total{"
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(prefix) and f'route="{route}"' in line
    )


def in_process(data_dir: Path, calls: int) -> dict[str, tuple[float, float]]:
    """Median microseconds per request (on, off) of each path, ASGI calls in this process.

    Both apps run in one event loop and the requests interleave one by one (on, off, then
    off, on), so a busy machine slows both alike; no HTTP server or client in the way.
    """

    async def call(app: ASGIApp, method: str, path: str, body: bytes) -> int:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "scheme": "http",
            "query_string": b"",
            "headers": headers,
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
        }
        messages: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
        statuses: list[int] = []

        async def receive() -> Message:
            return messages.pop() if messages else {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await app(scope, receive, send)
        return statuses[0]

    async def started(app: ASGIApp) -> asyncio.Task[None]:
        inbox: asyncio.Queue[Message] = asyncio.Queue()
        outbox: asyncio.Queue[Message] = asyncio.Queue()
        await inbox.put({"type": "lifespan.startup"})
        lifespan: Scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        task: asyncio.Task[None] = asyncio.create_task(
            app(lifespan, inbox.get, outbox.put)  # type: ignore[arg-type]
        )
        assert (await outbox.get())["type"] == "lifespan.startup.complete"
        return task

    async def measure() -> dict[str, tuple[float, float]]:
        apps = [
            create_app(_settings(data_dir / "on"), instrument=True),
            create_app(_settings(data_dir / "off"), instrument=False),
        ]
        lifespans = [await started(app) for app in apps]  # kept: a dropped task is collected
        body = json.dumps(QUOTE_BODY).encode()
        medians = {}
        for label, method, path, payload in (
            ("GET /api/health", "GET", "/api/health", b""),
            ("POST /api/quote", "POST", "/api/quote", body),
        ):
            seconds: list[list[float]] = [[], []]
            for index in range(calls + calls // 10):
                order = (0, 1) if index % 2 == 0 else (1, 0)
                for side in order:
                    before = time.perf_counter()
                    status = await call(apps[side], method, path, payload)
                    if index >= calls // 10:  # the first tenth warms up
                        seconds[side].append(time.perf_counter() - before)
                    assert status == 200, status
            on, off = (statistics.median(s) * 1e6 for s in seconds)
            medians[label] = (on, off)
        for task in lifespans:
            task.cancel()
        return medians

    return asyncio.run(measure())


@dataclass
class Side:
    """One server's measurements of one path, plus the server CPU time they took."""

    tally: Tally
    served: Served
    cpu_seconds: float = 0.0
    requests: int = 0

    @property
    def cpu_us(self) -> float:
        """Server CPU microseconds per request."""
        return self.cpu_seconds / self.requests * 1e6 if self.requests else float("nan")


def compare_sides(sides: list[Side], rounds: int, n: int, warmup: int = 50) -> None:
    """Alternating rounds (bench_metering.compare), also charging each side's server CPU."""
    with ExitStack() as stack:
        one = stack.enter_context(httpx.Client(timeout=60))
        many = [stack.enter_context(httpx.Client(timeout=60)) for _ in range(CONCURRENCY)]
        for side in sides:
            for _ in range(warmup):
                side.tally.send(one)
        for _, order in alternating(rounds, sides):
            for side in order:
                before = side.served.cpu_seconds()
                run_sequential(one, side.tally, n)
                run_concurrent(many, side.tally, n)
                side.cpu_seconds += side.served.cpu_seconds() - before
                side.requests += 2 * n


def run(quick: bool = False) -> list[Result]:
    """Measure both paths on both servers, print a table, return three rows per path."""
    rounds, n = (6, 300) if quick else (10, 1000)
    with tempfile.TemporaryDirectory(prefix="bench-middleware-") as tmp, ExitStack() as stack:
        on = stack.enter_context(server(Path(tmp) / "on", instrument=True))
        off = stack.enter_context(server(Path(tmp) / "off", instrument=False))
        check_servers(on.base_url, off.base_url)
        paths = [
            ("GET /api/health", health),
            ("POST /api/quote", quote),
        ]
        pairs = []
        for label, send in paths:
            instrumented = Side(Tally(f"{label.split()[1]}, on", send(on.base_url)), on)
            bare = Side(Tally("off", send(off.base_url)), off)
            compare_sides([instrumented, bare], rounds, n)
            pairs.append((label, instrumented, bare))
        seen = counted_requests(on.base_url, "/api/health")
        asgi = in_process(Path(tmp) / "asgi", 3_000 if quick else 10_000)

    section("middleware: /metrics request middleware + body caps, on vs off (SQLite)")
    print(f"{rounds} alternating rounds x {n} sequential + {n} over {CONCURRENCY} conns")
    print_tallies([side.tally for _, a, b in pairs for side in (a, b)])
    print(f"/api/health requests the instrumented server counted in /metrics: {seen:,.0f}")
    results = []
    for label, instrumented, bare in pairs:
        on_tally, off_tally = instrumented.tally, bare.tally
        one = paired([1 / p for p in on_tally.round_p50], [1 / p for p in off_tally.round_p50])
        many = paired(on_tally.round_concurrent_rate, off_tally.round_concurrent_rate)
        cpu = bare.cpu_us / instrumented.cpu_us
        print(
            f"{label}: on/off req/s: 1 conn {one:.3f}x (p50 latency"
            f" {on_tally.p50_ms:.3f} vs {off_tally.p50_ms:.3f} ms), {CONCURRENCY} conns"
            f" {many:.3f}x; server CPU per request {instrumented.cpu_us:.0f} vs"
            f" {bare.cpu_us:.0f} us (capacity {cpu:.3f}x)  goal >= {GOAL:g}"
        )
        rows = (
            ("1 conn", on_tally.sequential_rate, off_tally.sequential_rate, one, "p50 rate"),
            (
                f"{CONCURRENCY} conns",
                on_tally.concurrent_rate,
                off_tally.concurrent_rate,
                many,
                "throughput",
            ),
        )
        for metric, ours, base, ratio, note in rows:
            results.append(
                Result(
                    "middleware",
                    "sqlite",
                    f"{label}, {metric}",
                    ours,
                    base,
                    goal=GOAL,
                    note=f"median of per-round {note} ratios",
                    paired_ratio=ratio,
                )
            )
        on_us, off_us = asgi[label]
        print(
            f"{label}, in-process ASGI calls (no HTTP): median {on_us:.1f} vs {off_us:.1f} us"
            f" per request, +{on_us - off_us:.1f} us"
        )
        results.append(
            Result(
                "middleware",
                "sqlite",
                f"{label}, in-process ASGI",
                1e6 / on_us,
                1e6 / off_us,
                goal=GOAL,
                note="median latency, requests interleaved; no HTTP server (stricter)",
            )
        )
        results.append(
            Result(
                "middleware",
                "sqlite",
                f"{label}, server CPU",
                1e6 / instrumented.cpu_us,
                1e6 / bare.cpu_us,
                goal=GOAL,
                note="requests per server CPU second (robust to a busy machine)",
            )
        )
    return results


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (also the benchmark servers', with --serve)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and requests")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--instrument", choices=("on", "off"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.data_dir, args.port, args.instrument == "on")
        return 0
    print_machine_info()
    print_summary(run(args.quick), "Summary (ours = instrumented, baseline = without)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
