"""Key verification: an authenticated no-op against the same no-op unauthenticated.

    python -m benchmarks.bench_key_auth            # more rounds
    python -m benchmarks.bench_key_auth --quick

Served exactly as in benchmarks/bench_metering.py (the real app in a uvicorn subprocess
on 127.0.0.1, SQLite data dir, projections in process), which also registers the
benchmark-only twin ``GET /api/v1/bench/ping_unauthenticated``: the body of
``GET /api/v1/ping`` (a sync handler returning ``{"ok": true, "org_id": ...}``) without
the key dependency. Same client (httpx, keep-alive) and server, alternating rounds: the
twin, /api/v1/ping with ``X-API-Key: dm_live_...``, and /api/v1/ping with the pair
``x-metal-client-id`` + ``x-metal-api-key``. Each round times N sequential requests on
one connection and N over CONCURRENCY connections. Ratios are authenticated /
unauthenticated requests per second; the goal is >= 0.9.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import httpx

from benchmarks.bench_metering import (
    AUTHENTICATED_PING,
    CONCURRENCY,
    UNAUTHENTICATED_PING,
    BenchServer,
    Send,
    Tally,
    bench_server,
    compare,
    paired,
    print_tallies,
)
from benchmarks.support import Result, print_machine_info, print_summary, section

GOAL = 0.9  # authenticated / unauthenticated requests per second, at least


def get(path: str, headers: dict[str, str]) -> Send:
    return lambda client: client.get(path, headers=headers)


def check_twins(server: BenchServer) -> None:
    """All answer the same body; the twin really needs no key, the pings really do."""
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        bodies = [
            client.get(AUTHENTICATED_PING, headers=server.single).json(),
            client.get(AUTHENTICATED_PING, headers=server.pair).json(),
            client.get(UNAUTHENTICATED_PING).json(),
        ]
        refused = [client.get(AUTHENTICATED_PING)]
    assert all(body == {"ok": True, "org_id": server.org_id} for body in bodies), bodies
    assert [r.status_code for r in refused] == [401], [r.text for r in refused]


def run(quick: bool = False) -> list[Result]:
    """Measure the paths, print a table, return two summary rows per authenticated path."""
    rounds, n = (6, 300) if quick else (10, 1000)
    with (
        tempfile.TemporaryDirectory(prefix="bench-key-auth-") as tmp,
        bench_server(Path(tmp)) as server,
    ):
        check_twins(server)
        unauthenticated = Tally("unauthenticated twin", get(UNAUTHENTICATED_PING, {}))
        single = Tally("X-API-Key: dm_live_...", get(AUTHENTICATED_PING, server.single))
        pair = Tally("x-metal-client-id + x-metal-api-key", get(AUTHENTICATED_PING, server.pair))
        paths = [unauthenticated, single, pair]
        compare(server.base_url, paths, rounds, n, warmup=50)

    section("key verification: GET no-op, SQLite, key cache warm")
    print(f"{rounds} alternating rounds x {n} sequential + {n} over {CONCURRENCY} conns")
    print_tallies(paths)
    results = []
    for tally, style in ((single, "X-API-Key"), (pair, "pair headers")):
        one = paired([1 / p for p in tally.round_p50], [1 / p for p in unauthenticated.round_p50])
        many = paired(tally.round_concurrent_rate, unauthenticated.round_concurrent_rate)
        print(
            f"{style}: authenticated/unauthenticated req/s: 1 conn {one:.3f}x"
            f" (p50 latency {tally.p50_ms:.3f} vs {unauthenticated.p50_ms:.3f} ms),"
            f" {CONCURRENCY} conns {many:.3f}x  goal >= {GOAL:g}:"
            f" {'met' if min(one, many) >= GOAL else 'NOT met'}"
        )
        results.append(
            Result(
                "key_auth",
                "sqlite",
                f"no-op, {style}, 1 conn",
                tally.sequential_rate,
                unauthenticated.sequential_rate,
                goal=GOAL,
                note="median of per-round p50 rate ratios",
                paired_ratio=one,
            )
        )
        results.append(
            Result(
                "key_auth",
                "sqlite",
                f"no-op, {style}, {CONCURRENCY} conns",
                tally.concurrent_rate,
                unauthenticated.concurrent_rate,
                goal=GOAL,
                note="median of per-round throughput ratios",
                paired_ratio=many,
            )
        )
    return results


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and requests")
    args = parser.parse_args(argv)
    print_machine_info()
    print_summary(run(args.quick), "Summary (ours = authenticated, baseline = unauthenticated)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
