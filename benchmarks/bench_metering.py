"""Metering overhead: POST /api/v1/dfm/quick_info against the same handler unmetered.

    python -m benchmarks.bench_metering            # SQLite, then PostgreSQL if available
    python -m benchmarks.bench_metering --quick    # fewer requests per round
    python -m benchmarks.bench_metering --no-postgres

The real app (``api.app.create_app`` on a container built by ``infra.bootstrap``) is
served by uvicorn in a subprocess on 127.0.0.1, with in-process projections following the
log as in embedded production mode (the usage view is folded from every metered call).
The benchmark adds one route to that app, for the benchmark only:
``POST /api/v1/bench/quick_info_unmetered``, the body of ``/api/v1/dfm/quick_info``
(upload read, then ``container.dfm.analyzer.quick_info`` in the thread pool) minus
``record_usage``: it still authenticates the key (KeyDep), goes through the same
middleware (request id, open CORS, and the upload cap, which the benchmark extends to the
extra path), so the two paths differ only by metering. The organisation is on the pro
tier (50,000 quick_info per period, overage billed, never a 402): the benchmark links a
billing customer ``cus_bench`` and changes the plan through the Organization aggregate.

The client (this process) is httpx over keep-alive connections, so server and client
run on separate cores. Rounds alternate (metered then unmetered, then the other way
round, ...). Each round times N sequential requests per path (latency p50/p95 and
req/s of one connection) and the same number spread over CONCURRENCY connections
(throughput). Two payloads: the 20 mm cube (12 faces, 684 bytes) and a 10,000-face
cylinder (500 KB). Ratios are metered / unmetered; the goals are <= 1.1x p50 latency on
the 10k-face model and >= 0.9x throughput at 4 connections. PostgreSQL is durable
(fsync and synchronous_commit on; its settings printed). Per-request logging is off
(WARNING) in both paths alike.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import httpx
import trimesh
import uvicorn
from fastapi import FastAPI, File, UploadFile
from starlette.concurrency import run_in_threadpool

import api.middleware
from api.app import create_app
from api.deps import ContainerDep
from api.key_auth import KeyDep
from api.schemas.developer import QuickInfo
from api.uploads import read_upload
from benchmarks.support import (
    Options,
    Result,
    add_common_arguments,
    alternating,
    durable_postgres,
    options_from,
    print_machine_info,
    print_summary,
    print_table,
    section,
)
from infra.bootstrap import bootstrap
from infra.settings import Settings

REPO = Path(__file__).resolve().parents[1]
UNMETERED_QUICK_INFO = "/api/v1/bench/quick_info_unmetered"
METERED_QUICK_INFO = "/api/v1/dfm/quick_info"
UNAUTHENTICATED_PING = "/api/v1/bench/ping_unauthenticated"
AUTHENTICATED_PING = "/api/v1/ping"
METER_BATCHES = "/api/v1/bench/meter_batches"
CONCURRENCY = 4
GOAL_LATENCY = 1.1  # metered / unmetered p50 latency on the 10k-face model, at most
GOAL_THROUGHPUT = 0.9  # metered / unmetered throughput at CONCURRENCY connections, at least
START_TIMEOUT = 60.0


# --- the server (a subprocess: python -m benchmarks.bench_metering --serve ...) --------


_bench_org_id = ""  # the benchmark organisation (set in the server process)


async def quick_info_unmetered(
    model_file: Annotated[UploadFile, File()], key: KeyDep, container: ContainerDep
) -> dict[str, Any]:
    """/api/v1/dfm/quick_info without record_usage: same upload read, same analyser."""
    data, filename = await read_upload(model_file, container.settings.max_file_bytes)
    return await run_in_threadpool(container.dfm.analyzer.quick_info, data, filename)


def meter_batches(container: ContainerDep) -> dict[str, int]:
    """Calls per meter save so far (application.combining), for the benchmark's report."""
    return {str(size): count for size, count in container.developer.meter_batch_sizes().items()}


def ping_unauthenticated() -> dict[str, Any]:
    """/api/v1/ping's body (a sync handler, like it) without the key dependency."""
    return {"ok": True, "org_id": _bench_org_id}


def add_benchmark_routes(app: FastAPI, org_id: str) -> None:
    """The benchmark-only twins of /api/v1/dfm/quick_info and /api/v1/ping."""
    global _bench_org_id
    _bench_org_id = org_id
    # The same response model as the metered route: both answers are validated alike.
    app.add_api_route(
        UNMETERED_QUICK_INFO, quick_info_unmetered, methods=["POST"], response_model=QuickInfo
    )
    app.add_api_route(UNAUTHENTICATED_PING, ping_unauthenticated, methods=["GET"])
    app.add_api_route(METER_BATCHES, meter_batches, methods=["GET"])
    # The upload cap streams every metered upload through a counting receive(): give the
    # twin the same middleware work (UPLOAD_PATHS is read at call time).
    api.middleware.UPLOAD_PATHS = (*api.middleware.UPLOAD_PATHS, UNMETERED_QUICK_INFO)


def serve(data_dir: Path, database_url: str, port: int, key_file: Path) -> None:
    """Build the container, a pro-tier organisation and key, the app; serve until SIGTERM."""
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        jwt_secret="benchmark-jwt-secret-long-enough-for-hs256-signing",
        log_level="WARNING",
        projections_in_process=True,
    )
    container = bootstrap(settings)
    try:
        developer = container.developer
        org = developer.create_org(name="Benchmark Org", owner_id="bench-owner")
        # Benchmark setup only: a paid tier without calling a payment provider.
        org.link_billing_customer("cus_bench", actor="bench:setup")
        org.change_plan("pro", actor="bench:setup")
        developer.save(org)
        issued = developer.issue_key(str(org.id), name="bench", actor="bench:setup")
        app = create_app(settings, container=container)
        add_benchmark_routes(app, str(org.id))
        container.start_projections()
        credentials = {
            "org_id": str(org.id),
            "api_key": issued.api_key,
            "client_id": issued.client_id,
            "client_secret": issued.client_secret,
        }
        partial = key_file.with_suffix(".partial")
        partial.write_text(json.dumps(credentials))
        partial.rename(key_file)
        uvicorn.run(
            app, host="127.0.0.1", port=port, log_config=None, access_log=False, log_level="warning"
        )
    finally:
        container.close()


@dataclass(frozen=True)
class BenchServer:
    """A served benchmark app and the pro-tier key it made."""

    base_url: str
    org_id: str
    api_key: str
    client_id: str
    client_secret: str

    @property
    def single(self) -> dict[str, str]:
        return {"X-API-Key": self.api_key}

    @property
    def pair(self) -> dict[str, str]:
        return {"x-metal-client-id": self.client_id, "x-metal-api-key": self.client_secret}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def bench_server(workdir: Path, database_url: str = "") -> Iterator[BenchServer]:
    """The benchmark app in a uvicorn subprocess until the block ends."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    key_file = workdir / "bench-key.json"
    log = workdir / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FABLEDGER_")}
    env.pop("MAX_FILE_SIZE_MB", None)
    argv = [sys.executable, "-m", "benchmarks.bench_metering", "--serve", "--port", str(port)]
    argv += ["--data-dir", str(workdir / "data"), "--key-file", str(key_file)]
    argv += ["--database-url", database_url]
    with log.open("ab") as sink:
        process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"benchmark server exited:\n{log.read_text()[-4000:]}")
            if key_file.exists():
                try:
                    if httpx.get(f"{base_url}/api/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"benchmark server not up:\n{log.read_text()[-4000:]}")
            time.sleep(0.1)
        yield BenchServer(base_url=base_url, **json.loads(key_file.read_text()))
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


# --- the client -----------------------------------------------------------------------

Send = Callable[[httpx.Client], httpx.Response]


@dataclass
class Tally:
    """What one path measured over all rounds."""

    name: str
    send: Send
    latencies: list[float] = field(default_factory=list)  # sequential requests, seconds
    sequential_seconds: float = 0.0
    concurrent_requests: int = 0
    concurrent_seconds: float = 0.0
    round_p50: list[float] = field(default_factory=list)
    round_concurrent_rate: list[float] = field(default_factory=list)

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies) * 1000

    @property
    def p95_ms(self) -> float:
        return statistics.quantiles(self.latencies, n=100)[94] * 1000

    @property
    def sequential_rate(self) -> float:
        return len(self.latencies) / self.sequential_seconds

    @property
    def concurrent_rate(self) -> float:
        return self.concurrent_requests / self.concurrent_seconds


def _check(response: httpx.Response) -> None:
    if response.status_code != 200:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")


def run_sequential(client: httpx.Client, tally: Tally, n: int) -> None:
    """n requests one after the other on one keep-alive connection."""
    latencies = []
    started = time.perf_counter()
    for _ in range(n):
        before = time.perf_counter()
        response = tally.send(client)
        latencies.append(time.perf_counter() - before)
        _check(response)
    tally.sequential_seconds += time.perf_counter() - started
    tally.latencies += latencies
    tally.round_p50.append(statistics.median(latencies))


def run_concurrent(clients: list[httpx.Client], tally: Tally, n: int) -> None:
    """n requests spread over the clients' connections, all starting together."""
    per_client = max(1, n // len(clients))
    barrier = threading.Barrier(len(clients) + 1)
    errors: list[BaseException] = []

    def work(client: httpx.Client) -> None:
        barrier.wait()
        try:
            for _ in range(per_client):
                _check(tally.send(client))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if errors:
        raise errors[0]
    tally.concurrent_requests += per_client * len(clients)
    tally.concurrent_seconds += seconds
    tally.round_concurrent_rate.append(per_client * len(clients) / seconds)


def compare(base_url: str, tallies: list[Tally], rounds: int, n: int, warmup: int = 20) -> None:
    """Alternating rounds over all tallies: sequential, then concurrent, per path."""
    with ExitStack() as stack:
        one = stack.enter_context(httpx.Client(base_url=base_url, timeout=60))
        many = [
            stack.enter_context(httpx.Client(base_url=base_url, timeout=60))
            for _ in range(CONCURRENCY)
        ]
        for tally in tallies:  # connections open, caches warm, meter stream exists
            for _ in range(warmup):
                _check(tally.send(one))
        for _, order in alternating(rounds, tallies):
            for tally in order:
                run_sequential(one, tally, n)
            for tally in order:
                run_concurrent(many, tally, n)


def paired(ours: list[float], baseline: list[float]) -> float:
    """The median of per-round ratios ours/baseline (each round's runs are adjacent)."""
    return statistics.median(o / b for o, b in zip(ours, baseline, strict=True))


def print_tallies(tallies: list[Tally]) -> None:
    rows = [
        [
            t.name,
            f"{t.p50_ms:.2f}",
            f"{t.p95_ms:.2f}",
            f"{t.sequential_rate:,.0f}",
            f"{t.concurrent_rate:,.0f}",
            f"{len(t.latencies)}+{t.concurrent_requests}",
        ]
        for t in tallies
    ]
    headers = ["path", "p50 ms", "p95 ms", "req/s (1 conn)", f"req/s ({CONCURRENCY} conns)", "n"]
    print_table(headers, rows, align="lrrrrr")


# --- the metering benchmark -----------------------------------------------------------


def cylinder_stl(faces: int) -> bytes:
    """A watertight 40 x 30 mm cylinder of `faces` triangles (4 per section) as binary STL."""
    mesh = trimesh.creation.cylinder(radius=20.0, height=30.0, sections=faces // 4)
    return bytes(mesh.export(file_type="stl"))


def cube_stl() -> bytes:
    """The 20 mm cube of the tests (12 faces)."""
    return bytes(trimesh.creation.box(extents=(20.0, 20.0, 20.0)).export(file_type="stl"))


def upload(path: str, key: dict[str, str], name: str, data: bytes) -> Send:
    files = {"model_file": (name, data, "application/octet-stream")}
    return lambda client: client.post(path, headers=key, files=files)


def check_twins(server: BenchServer, data: bytes) -> None:
    """The two routes answer the same report; only the metered one carries quota headers."""
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        metered = upload(METERED_QUICK_INFO, server.single, "m.stl", data)(client)
        unmetered = upload(UNMETERED_QUICK_INFO, server.single, "m.stl", data)(client)
    answers = [metered, unmetered]
    for answer in answers:
        _check(answer)
    timeless = [{k: v for k, v in r.json().items() if k != "analysis_ms"} for r in answers]
    assert timeless[0] == timeless[1], timeless
    assert metered.headers["x-billing-tier"] == "pro", metered.headers
    assert "x-ratelimit-remaining" not in unmetered.headers


def bench_backend(backend: str, workdir: Path, database_url: str, quick: bool) -> list[Result]:
    """Both payloads on one served app; a table and two summary rows per payload."""
    rounds, n = (4, 40) if quick else (8, 160)
    payloads = [("cube (12 faces)", cube_stl()), ("10k-face cylinder", cylinder_stl(10_000))]
    results = []
    with bench_server(workdir, database_url) as server:
        usage_before = _metered_calls(server)
        for label, data in payloads:
            check_twins(server, data)
            metered = Tally(
                "metered /api/v1/dfm/quick_info",
                upload(METERED_QUICK_INFO, server.single, "model.stl", data),
            )
            unmetered = Tally(
                "unmetered twin (same handler)",
                upload(UNMETERED_QUICK_INFO, server.single, "model.stl", data),
            )
            batches_before = _meter_batches(server)
            compare(server.base_url, [metered, unmetered], rounds, n)
            batches = _meter_batches(server) - batches_before
            section(f"metering, {backend}: quick_info of a {label}, {len(data):,} bytes")
            print(f"{rounds} alternating rounds x {n} sequential + {n} over {CONCURRENCY} conns")
            print_tallies([metered, unmetered])
            sizes = " ".join(f"{size}x{count}" for size, count in sorted(batches.items()))
            print(f"calls per meter save (combined; 1 and {CONCURRENCY} conns together): {sizes}")
            latency = metered.p50_ms / unmetered.p50_ms
            latency_paired = paired(metered.round_p50, unmetered.round_p50)
            throughput = paired(metered.round_concurrent_rate, unmetered.round_concurrent_rate)
            verdict = "met" if latency_paired <= GOAL_LATENCY else "NOT met"
            print(
                f"latency metered/unmetered: p50 {latency:.3f}x"
                f" (median of per-round p50 ratios {latency_paired:.3f}x),"
                f" p95 {metered.p95_ms / unmetered.p95_ms:.3f}x"
                f"  goal <= {GOAL_LATENCY:g}x: {verdict}"
            )
            print(
                f"throughput metered/unmetered: 1 conn"
                f" {metered.sequential_rate / unmetered.sequential_rate:.3f}x,"
                f" {CONCURRENCY} conns {throughput:.3f}x (median of per-round ratios)"
            )
            short = label.split(" ")[0]
            results.append(
                Result(
                    "metering",
                    backend,
                    f"quick_info {short}, 1 conn",
                    metered.sequential_rate,
                    unmetered.sequential_rate,
                    goal=round(1 / GOAL_LATENCY, 3),
                    note=f"p50 latency x{latency_paired:.3f} (goal <= {GOAL_LATENCY:g})",
                    paired_ratio=1 / latency_paired,
                )
            )
            results.append(
                Result(
                    "metering",
                    backend,
                    f"quick_info {short}, {CONCURRENCY} conns",
                    metered.concurrent_rate,
                    unmetered.concurrent_rate,
                    goal=GOAL_THROUGHPUT,
                    note="throughput, metered/unmetered",
                    paired_ratio=throughput,
                )
            )
        counted = _metered_calls(server) - usage_before
        print(f"\nmetered calls recorded by the meter during the run: {counted:,}")
    return results


def _meter_batches(server: BenchServer) -> Counter[int]:
    """How many meter saves so far counted 1, 2, ... calls."""
    answer = httpx.get(server.base_url + METER_BATCHES, timeout=60).json()
    return Counter({int(size): count for size, count in answer.items()})


def _metered_calls(server: BenchServer) -> int:
    """quick_info calls on the org's meter (GET /api/v1/usage; the view follows the log)."""
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        deadline = time.monotonic() + 10
        last = -1
        while True:
            meters = client.get("/api/v1/usage", headers=server.single).json()["meters"]
            used = sum(m["used"] for m in meters if m["product"] == "quick_info")
            if used == last or time.monotonic() > deadline:
                return int(used)
            last = used
            time.sleep(0.5)


def run(options: Options) -> list[Result]:
    """SQLite, then a durable PostgreSQL (--pg-dsn's, else a throwaway one; printed)."""
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-metering-") as tmp:
        results += bench_backend("sqlite", Path(tmp) / "sqlite", "", options.quick)
        with durable_postgres(options, "metering") as url:
            if url is not None:
                results += bench_backend("postgres", Path(tmp) / "postgres", url, options.quick)
    return results


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (also the benchmark server's, with --serve)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--key-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.data_dir, args.database_url, args.port, args.key_file)
        return 0
    options = options_from(args)
    print_machine_info()
    results = run(options)
    print_summary(results, "Summary (ours = metered, baseline = unmetered twin)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
