"""Personal access tokens: an admin GET with a PAT against the same GET with a session JWT.

    python -m benchmarks --only pat_auth [--quick]
    python -m benchmarks.bench_pat_auth [--quick]

Served like benchmarks/bench_metering.py: the real app (``api.app.create_app`` on a
container from ``infra.bootstrap``) in a uvicorn subprocess on 127.0.0.1, SQLite data
dir, projections in process, per-request logging off (WARNING), and the PAT access log
ON (every PAT request is queued and written in batches to views.db by its background
flusher; the run checks the rows arrived). One admin signs in over HTTP for the JWT and
creates a PAT (catalog:read + admin:read) over HTTP. Same client (httpx, keep-alive),
same routes, alternating rounds: ``GET /api/admin/materials`` (a cached list: the auth
path dominates) and ``GET /api/admin/stats`` (read models), each with the JWT and with
the PAT. Each round times N sequential requests on one connection and N over CONCURRENCY
connections. Ratios are PAT / JWT requests per second; the goal is >= 0.9.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from api.app import create_app
from benchmarks.bench_metering import (
    CONCURRENCY,
    REPO,
    START_TIMEOUT,
    Send,
    Tally,
    _free_port,
    compare,
    paired,
    print_tallies,
)
from benchmarks.support import Result, print_machine_info, print_summary, section
from infra.bootstrap import bootstrap
from infra.settings import Settings

GOAL = 0.9  # PAT / JWT requests per second, at least
EMAIL, PASSWORD = "bench-admin@example.com", "benchmark password 1"
ROUTES = (("materials", "/api/admin/materials"), ("stats", "/api/admin/stats"))


def serve(data_dir: Path, port: int, ready_file: Path) -> None:
    """An admin account, then the app until SIGTERM (the server process)."""
    settings = Settings(
        data_dir=data_dir,
        jwt_secret="benchmark-jwt-secret-long-enough-for-hs256-signing",
        log_level="WARNING",
        projections_in_process=True,
    )
    container = bootstrap(settings)
    try:
        container.identity.ensure_admin(email=EMAIL, username="bench-admin", password=PASSWORD)
        app = create_app(settings, container=container)
        container.start_projections()
        ready_file.write_text("ready")
        uvicorn.run(
            app, host="127.0.0.1", port=port, log_config=None, access_log=False, log_level="warning"
        )
    finally:
        container.close()


@dataclass(frozen=True)
class Credentials:
    """The served app and both credentials of its admin."""

    base_url: str
    jwt: dict[str, str]
    pat: dict[str, str]
    pat_id: str
    views_db: Path


@contextmanager
def pat_server(workdir: Path) -> Iterator[Credentials]:
    """The app in a subprocess, an admin signed in, and a PAT made over HTTP."""
    port, ready = _free_port(), workdir / "ready"
    log = workdir / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FABLEDGER_")}
    argv = [sys.executable, "-m", "benchmarks.bench_pat_auth", "--serve", "--port", str(port)]
    argv += ["--data-dir", str(workdir / "data"), "--ready-file", str(ready)]
    with log.open("ab") as sink:
        process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT
        while not _up(base_url, ready):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"benchmark server not up:\n{log.read_text()[-4000:]}")
            time.sleep(0.1)
        with httpx.Client(base_url=base_url, timeout=30) as client:
            login = client.post("/api/auth/login", json={"email": EMAIL, "password": PASSWORD})
            login.raise_for_status()
            jwt = {"Authorization": f"Bearer {login.json()['token']}"}
            made = client.post(
                "/api/admin/tokens",
                headers=jwt,
                json={"name": "benchmark", "permissions": ["catalog:read", "admin:read"]},
            )
            made.raise_for_status()
        pat = {"Authorization": f"Bearer {made.json()['token']}"}
        yield Credentials(base_url, jwt, pat, made.json()["id"], workdir / "data" / "views.db")
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _up(base_url: str, ready: Path) -> bool:
    if not ready.exists():
        return False
    try:
        return httpx.get(f"{base_url}/api/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def get(path: str, headers: dict[str, str]) -> Send:
    return lambda client: client.get(path, headers=headers)


def check_twins(creds: Credentials) -> None:
    """Both credentials get the same answers; an invalid PAT is refused."""
    with httpx.Client(base_url=creds.base_url, timeout=30) as client:
        for _, path in ROUTES:
            jwt, pat = client.get(path, headers=creds.jwt), client.get(path, headers=creds.pat)
            assert jwt.status_code == pat.status_code == 200, (jwt.text, pat.text)
        bad = {"Authorization": creds.pat["Authorization"][:-1] + "0"}
        assert client.get(ROUTES[0][1], headers=bad).status_code == 401


def logged_rows(creds: Credentials) -> int:
    """The PAT's rows in the access log (views.db), once the flusher has caught up."""
    with sqlite3.connect(creds.views_db, timeout=30) as db:
        last, deadline = -1, time.monotonic() + 10
        while True:
            (count,) = db.execute(
                "SELECT COUNT(*) FROM pat_access_log WHERE token_id = ?", (creds.pat_id,)
            ).fetchone()
            if count == last or time.monotonic() > deadline:
                return int(count)
            last = count
            time.sleep(1.0)


def run(quick: bool = False) -> list[Result]:
    """Measure both routes with both credentials; two summary rows per route."""
    rounds, n = (4, 300) if quick else (8, 1000)
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-pat-auth-") as tmp,
        pat_server(Path(tmp)) as creds,
    ):
        check_twins(creds)
        pairs = {
            name: (
                Tally(f"{name}: JWT", get(path, creds.jwt)),
                Tally(f"{name}: PAT", get(path, creds.pat)),
            )
            for name, path in ROUTES
        }
        for jwt, pat in pairs.values():
            compare(creds.base_url, [jwt, pat], rounds, n, warmup=50)
        sent = sum(len(p.latencies) + p.concurrent_requests for _, p in pairs.values())
        rows = logged_rows(creds)

    section("PAT vs JWT: admin GET, SQLite, access log on")
    print(f"{rounds} alternating rounds x {n} sequential + {n} over {CONCURRENCY} conns")
    print_tallies([t for pair in pairs.values() for t in pair])
    print(f"access log: {rows:,} rows for the PAT ({sent:,} timed PAT requests + warm-up/checks)")
    for name, (jwt, pat) in pairs.items():
        one = paired([1 / p for p in pat.round_p50], [1 / p for p in jwt.round_p50])
        many = paired(pat.round_concurrent_rate, jwt.round_concurrent_rate)
        print(
            f"{name}: PAT/JWT req/s: 1 conn {one:.3f}x (p50 {pat.p50_ms:.3f} vs"
            f" {jwt.p50_ms:.3f} ms), {CONCURRENCY} conns {many:.3f}x  goal >= {GOAL:g}:"
            f" {'met' if min(one, many) >= GOAL else 'NOT met'}"
        )
        for label, ours, base, ratio in (
            ("1 conn", pat.sequential_rate, jwt.sequential_rate, one),
            (f"{CONCURRENCY} conns", pat.concurrent_rate, jwt.concurrent_rate, many),
        ):
            results.append(
                Result(
                    "pat_auth",
                    "sqlite",
                    f"GET admin {name}, {label}",
                    ours,
                    base,
                    goal=GOAL,
                    note="PAT/JWT, median of per-round ratios, access log on",
                    paired_ratio=ratio,
                )
            )
    return results


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (also the benchmark server's, with --serve)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and requests")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--ready-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.data_dir, args.port, args.ready_file)
        return 0
    print_machine_info()
    print_summary(run(args.quick), "Summary (ours = PAT, baseline = session JWT)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
