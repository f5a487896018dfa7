"""Order placement over HTTP with 1, 2 and 4 API processes on one PostgreSQL, and why.

Three `fabledger serve --workers N` servers (N = 1, 2, 4) run side by side on one
PostgreSQL server, each on a database of its own (each server's flows are then led by one
of its own processes, infra.leadership), projections off
(FABLEDGER_PROJECTIONS_IN_PROCESS=false: in production they live in a worker). A fixed
pool of client threads, one pre-registered customer each, posts checkouts of a 20 mm cube
by `session_id` (an upload made once), for a fixed time per round; rounds interleave the
three servers so drift hits each alike.

Where the limit is, measured during the rounds:

* CPU: CPU seconds of the API processes, of PostgreSQL and of this client, per order,
  and the machine's busy share (/proc);
* the event-table lock: eventsourcing's recorder runs `LOCK TABLE ordering_events IN
  EXCLUSIVE MODE` in every insert transaction (serialising writers so notification ids
  commit in order); a sampler counts backends waiting on a lock vs. active ones;
* the disk: PostgreSQL here is durable (fsync=on, synchronous_commit=on), and the best
  server is measured again on a database with synchronous_commit=off (no WAL flush wait
  at commit).

    python -m benchmarks.bench_scaling [--quick] [--pg-dsn URL]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from benchmarks.support import (
    DurablePostgres,
    Options,
    PgTarget,
    Result,
    add_common_arguments,
    fmt_rate,
    median,
    options_from,
    print_machine_info,
    print_summary,
    print_table,
    section,
)
from tests.support.factories import cube_stl
from tests.support.postgres import find_pg_bindir
from tests.support.served import served

BENCH = "scaling"
PROCESSES = (1, 2, 4)
CLIENTS = 12
CLK_TCK = os.sysconf("SC_CLK_TCK")
CORES = len(os.sched_getaffinity(0))


# --- /proc accounting ------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # fields from the 3rd on (after "comm")


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(parents.get(pid, []))
    return tree


def cpu_seconds(pids: list[int]) -> float:
    """user + system CPU seconds of these processes (all their threads)."""
    total = 0
    for pid in pids:
        fields = _stat(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return float(sum(values) - idle), float(sum(values))


# --- PostgreSQL --------------------------------------------------------------------------


@dataclass
class Database:
    """A benchmark database: its URL, and the server's process if it is ours."""

    dsn: str
    postmaster: int | None


@contextmanager
def databases(options: Options) -> Iterator[tuple[dict[int, Database], Database, str]]:
    """A fresh database per server (each server's flows are led by one of its own
    processes), one with synchronous_commit=off, and a description."""
    names = {n: f"bench_scaling_{n}p_{uuid.uuid4().hex[:8]}" for n in PROCESSES}
    relaxed = f"bench_scaling_off_{uuid.uuid4().hex[:8]}"
    with ExitStack() as stack:
        if options.pg_dsn:
            admin, postmaster, origin = options.pg_dsn, None, "--pg-dsn"
        else:
            bindir = find_pg_bindir()
            if bindir is None:
                raise SystemExit("scaling needs PostgreSQL (initdb/pg_ctl, or --pg-dsn)")
            server = DurablePostgres(bindir)
            stack.enter_context(server)
            admin, postmaster = server.dsn("postgres"), server.postmaster()
            origin = "throwaway durable server (fsync=on, synchronous_commit=on)"
        with psycopg.connect(admin, autocommit=True) as conn:
            for name in [*names.values(), relaxed]:
                conn.execute(f'CREATE DATABASE "{name}"')
            conn.execute(f'ALTER DATABASE "{relaxed}" SET synchronous_commit = off')
            facts = PgTarget(admin, origin).facts()
        base = admin.rsplit("/", 1)[0]
        try:
            yield (
                {n: Database(f"{base}/{name}", postmaster) for n, name in names.items()},
                Database(f"{base}/{relaxed}", postmaster),
                "; ".join(f"{k}: {v}" for k, v in facts),
            )
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                for name in [*names.values(), relaxed]:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class LockSampler:
    """Samples pg_stat_activity: backends waiting on a table lock, and backends active."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.samples: list[tuple[int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LockSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self._stop.wait(0.02):
                row = conn.execute(
                    "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'"
                    " AND wait_event = 'relation'),"
                    " count(*) FILTER (WHERE state = 'active')"
                    " FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid()"
                ).fetchone()
                if row is not None:
                    self.samples.append((int(row[0]), int(row[1])))

    def averages(self) -> tuple[float, float]:
        """(mean backends waiting on a lock, mean active backends)."""
        if not self.samples:
            return 0.0, 0.0
        n = len(self.samples)
        return sum(s[0] for s in self.samples) / n, sum(s[1] for s in self.samples) / n


# --- the API servers and their clients ----------------------------------------------------


@dataclass
class Customer:
    """A signed-in customer with an upload session to check out from."""

    auth: dict[str, str]
    session_id: str


@dataclass
class Server:
    """One `fabledger serve --workers N`."""

    processes: int
    client: httpx.Client
    database: Database

    @property
    def url(self) -> str:
        return str(self.client.base_url)

    def pids(self) -> list[int]:
        """The uvicorn process and its workers (found by the port it listens on)."""
        return process_tree(self.root)

    root: int = 0


def _listening_pid(port: int) -> int:
    """The uvicorn process serving 127.0.0.1:port (its workers inherit the socket)."""
    wanted = f":{port:04X}"
    inodes = {
        parts[9]
        for parts in (line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:])
        if parts[1].endswith(wanted) and parts[3] == "0A"  # 0A: LISTEN
    }
    holders: dict[int, int] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            sockets = {os.readlink(fd) for fd in (proc / "fd").iterdir()}
        except OSError:
            continue
        if any(f"socket:[{inode}]" in sockets for inode in inodes):
            fields = _stat(int(proc.name))
            holders[int(proc.name)] = int(fields[1]) if fields else 0
    roots = [pid for pid, parent in holders.items() if parent not in holders]
    if len(roots) != 1:
        raise RuntimeError(f"cannot tell which process serves port {port}: {holders}")
    return roots[0]


def register(server: Server, count: int) -> list[Customer]:
    """Customers made over HTTP, each with one upload of the cube."""
    cube, customers = cube_stl(), []
    for n in range(count):
        name = f"bench{uuid.uuid4().hex[:10]}{n}"
        signed_up = server.client.post(
            "/api/auth/register",
            json={"username": name, "email": f"{name}@example.com", "password": "bench pw 123"},
        )
        signed_up.raise_for_status()
        auth = {"Authorization": f"Bearer {signed_up.json()['token']}"}
        uploaded = server.client.post(
            "/api/upload-for-cart", headers=auth, files={"model_file": ("cube.stl", cube)}
        )
        uploaded.raise_for_status()
        customers.append(Customer(auth, uploaded.json()["session_id"]))
    return customers


@dataclass
class Round:
    """What one timed round measured."""

    processes: int
    orders: int
    errors: int
    seconds: float
    api_cpu: float
    db_cpu: float
    client_cpu: float
    machine_busy: float
    lock_waiting: float
    active: float
    worker_shares: list[float]  # each API process's share of the API CPU, largest first

    @property
    def rate(self) -> float:
        return self.orders / self.seconds

    @property
    def other_cores(self) -> float:
        """Cores busy with anything but the API, PostgreSQL and this client (other load)."""
        ours = self.api_cpu + (self.db_cpu if self.db_cpu == self.db_cpu else 0) + self.client_cpu
        return self.machine_busy * CORES - ours / self.seconds


def place_for(server: Server, customers: list[Customer], seconds: float) -> Round:
    """Every client checks out as fast as it can for `seconds`; the counts and costs."""
    counts = [0, 0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(customer: Customer) -> None:
        ok = failed = 0
        form = {"session_id": customer.session_id, "material": "PLA", "fulfillment": "pickup"}
        with httpx.Client(base_url=server.url, headers=customer.auth, timeout=30) as http:
            while time.monotonic() < deadline:
                if http.post("/api/checkout", data=form).status_code == 201:
                    ok += 1
                else:
                    failed += 1
        with lock:
            counts[0] += ok
            counts[1] += failed

    api_pids = server.pids()
    db_pids = process_tree(server.database.postmaster) if server.database.postmaster else []
    before = (cpu_seconds(api_pids), cpu_seconds(db_pids), time.process_time(), machine_busy())
    each_before = {pid: cpu_seconds([pid]) for pid in api_pids}
    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(c,)) for c in customers]
    with LockSampler(server.database.dsn) as sampler:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    elapsed = time.monotonic() - started
    each = [cpu_seconds([pid]) - spent for pid, spent in each_before.items()]
    busy, total = machine_busy()
    waiting, active = sampler.averages()
    return Round(
        processes=server.processes,
        orders=counts[0],
        errors=counts[1],
        seconds=elapsed,
        api_cpu=cpu_seconds(server.pids()) - before[0],
        db_cpu=cpu_seconds(process_tree(server.database.postmaster)) - before[1]
        if server.database.postmaster
        else float("nan"),
        client_cpu=time.process_time() - before[2],
        machine_busy=(busy - before[3][0]) / (total - before[3][1]),
        lock_waiting=waiting,
        active=active,
        worker_shares=sorted((c / max(sum(each), 1e-9) for c in each), reverse=True),
    )


def _environment(database: Database, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FABLEDGER_")}
    env.update(
        {
            "FABLEDGER_DATABASE_URL": database.dsn,
            "FABLEDGER_DATA_DIR": str(data_dir),
            "FABLEDGER_JWT_SECRET": "bench-jwt-secret-long-enough-for-hs256-signing",
            "FABLEDGER_PROJECTIONS_IN_PROCESS": "false",
            "FABLEDGER_RATE_LIMITS_ENABLED": "false",  # one client address (bench_rate_limits)
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def start_server(stack: ExitStack, database: Database, processes: int, tmp: Path) -> Server:
    """`fabledger serve --workers N` on the database (data dir shared: upload sessions)."""
    command = [sys.executable, "-m", "workers.cli"]
    run = f"{processes}-{uuid.uuid4().hex[:6]}"
    env = _environment(database, tmp / f"data-{run}")  # upload sessions: shared by workers
    log = tmp / f"serve-{run}.log"
    client = stack.enter_context(served(command, env, log, "--workers", str(processes)))
    server = Server(processes, client, database)
    server.root = _listening_pid(client.base_url.port or 0)
    return server


def _row(r: Round) -> list[str]:
    per = 1000 / max(r.orders, 1)
    return [
        str(r.processes),
        fmt_rate(r.rate),
        str(r.errors),
        f"{r.api_cpu * per:.2f}",
        f"{r.db_cpu * per:.2f}",
        f"{r.client_cpu * per:.2f}",
        f"{r.api_cpu / r.seconds:.2f}",
        f"{r.machine_busy:.0%}",
        f"{r.other_cores:.2f}",
        f"{r.lock_waiting:.1f}/{r.active:.1f}",
        "/".join(f"{share:.0%}" for share in r.worker_shares if share >= 0.005),
    ]


HEADERS = [
    "API procs",
    "orders/s",
    "errors",
    "API cpu ms/order",
    "DB cpu ms/order",
    "client cpu ms/order",
    "API cores",
    "machine busy",
    "other cores",
    "table-lock-waiting/active backends",
    "CPU share per API process",
]


def run(options: Options) -> list[Result]:
    """Interleaved rounds on 1, 2 and 4 API processes, then synchronous_commit off.

    Not the harness's shared server (it runs with fsync off): a durable one of our own,
    or the server given by --pg-dsn.
    """
    if options.no_postgres:
        print("scaling: skipped (--no-postgres)")
        return []
    rounds, seconds = (2, 4.0) if options.quick else (3, 10.0)
    with ExitStack() as stack:
        durable, relaxed, facts = stack.enter_context(databases(options))
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fabledger-scale-")))
        section(f"Scaling: placement over HTTP, {CLIENTS} client threads, {seconds:g} s rounds")
        print(facts)
        servers = {n: start_server(stack, durable[n], n, tmp) for n in PROCESSES}
        customers = {n: register(servers[n], CLIENTS) for n in PROCESSES}
        for n in PROCESSES:  # warm-up: connections, prepared statements
            place_for(servers[n], customers[n], 1.0)
        measured: dict[int, list[Round]] = {n: [] for n in PROCESSES}
        table = []
        for index in range(rounds):
            order = PROCESSES if index % 2 == 0 else tuple(reversed(PROCESSES))
            for n in order:
                result = place_for(servers[n], customers[n], seconds)
                measured[n].append(result)
                table.append([f"{index + 1}", *_row(result)])
        print_table(["round", *HEADERS], table, align="lrrrrrrrrrrl")

        rates = {n: median([r.rate for r in measured[n]]) for n in PROCESSES}
        best = max(PROCESSES, key=lambda n: rates[n])
        relaxed_server = start_server(stack, relaxed, best, tmp)
        relaxed_customers = register(relaxed_server, CLIENTS)
        place_for(relaxed_server, relaxed_customers, 1.0)
        disk = []
        for index in range(rounds):
            pair = [(servers[best], customers[best]), (relaxed_server, relaxed_customers)]
            for server, people in pair if index % 2 == 0 else reversed(pair):
                disk.append((server is relaxed_server, place_for(server, people, seconds)))
        section(f"Disk: {best} API processes, synchronous_commit on vs off")
        print_table(
            ["synchronous_commit", *HEADERS],
            [["off" if off else "on", *_row(r)] for off, r in disk],
            align="lrrrrrrrrrrl",
        )
        sync_on = median([r.rate for off, r in disk if not off])
        sync_off = median([r.rate for off, r in disk if off])

    speedups = ", ".join(f"{n}: {rates[n] / rates[1]:.2f}x" for n in PROCESSES)
    print(f"\nspeed-up over 1 API process (medians of {rounds} rounds): {speedups}")
    print(diagnosis(measured, rates, sync_on, sync_off))
    return [
        Result(BENCH, "postgres", f"orders/s, {n} API procs vs 1", rates[n], rates[1])
        for n in PROCESSES[1:]
    ] + [
        Result(
            BENCH, "postgres", f"orders/s, {best} procs, sync commit off vs on", sync_off, sync_on
        )
    ]


def diagnosis(
    measured: dict[int, list[Round]], rates: dict[int, float], sync_on: float, sync_off: float
) -> str:
    """A few sentences naming the limit, from the numbers above."""
    top = measured[max(rates, key=lambda n: rates[n])]
    busy = median([r.machine_busy for r in top])
    other = median([r.other_cores for r in top])
    waiting = median([r.lock_waiting for r in top])
    active = median([r.active for r in top])
    per = median([(r.api_cpu + r.db_cpu + r.client_cpu) * 1000 / max(r.orders, 1) for r in top])
    lines = [
        f"machine busy at the best setting: {busy:.0%} of {CORES} cores, {other:.2f} cores of it"
        f" other load; {per:.1f} CPU-ms per order (API + PostgreSQL + client):"
        f" ceiling on this machine ~{CORES * 1000 / per:,.0f} orders/s if nothing else ran",
        f"event-table lock: {waiting:.1f} of {active:.1f} active backends wait on a table lock",
        f"disk: synchronous_commit off/on = {sync_off / sync_on:.2f}x",
        f"more API processes: {' -> '.join(f'{rates[n]:,.0f}/s' for n in sorted(rates))}",
    ]
    if busy > 0.85:
        lines.append(
            "=> the limit is the CPU: every core is busy, so more processes only add"
            " context switches; the table lock queues writers but is not what binds here"
        )
    elif waiting >= 0.5 * max(active, 1e-9):
        lines.append("=> the limit is the event-table lock: writers queue behind each other")
    elif sync_off / sync_on > 1.3:
        lines.append("=> the limit is the disk: commits wait for the WAL flush")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """python -m benchmarks.bench_scaling [--quick] [--pg-dsn URL]."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    options = options_from(parser.parse_args(argv))
    print_machine_info()
    print_summary(run(options))


if __name__ == "__main__":
    main()
