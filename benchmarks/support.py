"""Shared plumbing for the benchmarks: options, timing, machine info, PostgreSQL, tables.

Benchmarks here print ratios of two things measured side by side in the same process,
on the same database and machine; they never assert on time. A ratio compares our code
path with a baseline doing the same job with plain SQL, so a slow machine moves both.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse, urlunparse

import psycopg
from psycopg import sql

from tests.support.postgres import PostgresServer, find_pg_bindir

T = TypeVar("T")


# --- options -----------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    """What every benchmark understands."""

    quick: bool = False
    pg_dsn: str | None = None
    no_postgres: bool = False
    profile: bool = False


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """--quick, --pg-dsn, --no-postgres, --profile."""
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a quick look)")
    parser.add_argument(
        "--pg-dsn",
        default=None,
        help="postgresql://user@host:port/db of an existing server (its role needs CREATEDB;"
        " each benchmark creates and drops its own database); default: start a throwaway"
        " server from the PostgreSQL binaries",
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--profile", action="store_true", help="print cProfile top functions")


def options_from(args: argparse.Namespace) -> Options:
    """The common options out of parsed arguments."""
    return Options(
        quick=args.quick, pg_dsn=args.pg_dsn, no_postgres=args.no_postgres, profile=args.profile
    )


# --- results -----------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """One line of the summary: our rate against a baseline rate of the same job."""

    bench: str
    backend: str
    metric: str
    ours: float
    baseline: float
    unit: str = "/s"
    goal: float | None = None  # the ratio ours/baseline we aim at (informational)
    note: str = ""
    paired_ratio: float | None = None  # e.g. the median of per-round ratios

    @property
    def ratio(self) -> float:
        """ours / baseline (higher is better for us): the paired ratio when there is one."""
        if self.paired_ratio is not None:
            return self.paired_ratio
        return self.ours / self.baseline if self.baseline else float("nan")


def print_summary(results: Sequence[Result], title: str = "Summary") -> None:
    """The one table that ends a run: rates, ratios and whether each ratio meets its goal."""
    rows = []
    for r in results:
        if r.goal is None:
            verdict = ""
        else:
            verdict = f">= {r.goal:.3g}: {'met' if r.ratio >= r.goal else 'BELOW'}"
        rows.append(
            [
                r.bench,
                r.backend,
                r.metric,
                fmt_rate(r.ours, r.unit),
                fmt_rate(r.baseline, r.unit),
                "-" if r.ratio != r.ratio else f"{r.ratio:.2f}",
                verdict,
                r.note,
            ]
        )
    section(title)
    print_table(
        ["bench", "backend", "what", "ours", "baseline", "ratio", "goal", "note"],
        rows,
        align="lllrrrll",
    )


# --- timing ------------------------------------------------------------------------


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """(seconds, result) of one call, by time.perf_counter."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


class Stopwatch:
    """Accumulates perf_counter time over several `with watch:` blocks."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._start = 0.0

    def __enter__(self) -> Stopwatch:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.seconds += time.perf_counter() - self._start


def median(values: Sequence[float]) -> float:
    """The median (the middle of an odd number of rounds)."""
    return float(statistics.median(values))


def alternating(rounds: int, runs: Sequence[T]) -> Iterator[tuple[int, list[T]]]:
    """(round, runs in this round's order): ABAB..., then BA..., so drift hits every run."""
    for index in range(rounds):
        yield index, list(runs) if index % 2 == 0 else list(reversed(runs))


# --- formatting --------------------------------------------------------------------


def fmt_rate(value: float, unit: str = "/s") -> str:
    """12,345/s (three significant figures below 100)."""
    if value != value:  # NaN
        return "-"
    if value >= 100:
        return f"{value:,.0f}{unit}"
    return f"{value:.3g}{unit}"


def fmt_seconds(seconds: float) -> str:
    """1.23 s / 45.6 ms."""
    return f"{seconds:.2f} s" if seconds >= 1 else f"{seconds * 1000:.1f} ms"


def print_profile(title: str, fn: Callable[[], object], top: int = 15) -> None:
    """cProfile of fn(): the top functions by cumulative time, under a section title."""
    profiler = cProfile.Profile()
    profiler.enable()
    fn()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    section(f"cProfile: {title}, top {top} by cumtime")
    print(out.getvalue().strip())


def section(title: str) -> None:
    """A visible heading in the output."""
    print(f"\n=== {title} " + "=" * max(3, 76 - len(title)), flush=True)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str = "") -> None:
    """A plain-text table; `align` has one 'l' or 'r' per column (default: left)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    align = align.ljust(len(headers), "l")

    def line(row: Sequence[str]) -> str:
        parts = [
            cell.rjust(w) if a == "r" else cell.ljust(w)
            for cell, w, a in zip(row, widths, align, strict=True)
        ]
        return "  ".join(parts).rstrip()

    print(line(cells[0]))
    print("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        print(line(row))
    sys.stdout.flush()


# --- machine -----------------------------------------------------------------------


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def machine_info() -> list[tuple[str, str]]:
    """What a reader needs to compare two runs of these benchmarks."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        ("nproc", f"{usable} usable of {os.cpu_count()} ({_cpu_model()})"),
        ("python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("platform", platform.platform()),
        ("sqlite", sqlite3.sqlite_version),
        (
            "packages",
            f"eventsourcing {_package_version('eventsourcing')},"
            f" psycopg {_package_version('psycopg')}",
        ),
    ]


def print_machine_info(extra: Sequence[tuple[str, str]] = ()) -> None:
    """Print machine facts, plus any the caller adds (e.g. the PostgreSQL server)."""
    section("Machine")
    for key, value in [*machine_info(), *extra]:
        print(f"{key:>10}: {value}")
    sys.stdout.flush()


# --- PostgreSQL --------------------------------------------------------------------

_SERVER_FACTS = ("server_version", "fsync", "synchronous_commit", "shared_buffers")


@dataclass
class PgTarget:
    """A PostgreSQL server the benchmarks may create throwaway databases on."""

    admin_dsn: str  # a URL; its database is only used to CREATE/DROP the benchmark ones
    origin: str

    def facts(self) -> list[tuple[str, str]]:
        """Version and the settings that decide commit cost."""
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            values = {name: _show(conn, name) for name in _SERVER_FACTS}
        return [
            ("postgres", f"{values['server_version']} ({self.origin})"),
            (
                "pg config",
                f"fsync={values['fsync']} synchronous_commit={values['synchronous_commit']}"
                f" shared_buffers={values['shared_buffers']}",
            ),
        ]

    @contextmanager
    def database(self, prefix: str) -> Iterator[str]:
        """A fresh database (its URL) that is dropped afterwards."""
        name = f"bench_{prefix}_{uuid.uuid4().hex[:8]}"
        self._admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield urlunparse(urlparse(self.admin_dsn)._replace(path=f"/{name}"))
        finally:
            self._admin(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def _admin(self, statement: sql.Composed) -> None:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(statement)


def _show(conn: psycopg.Connection[Any], name: str) -> str:
    row = conn.execute(f"SHOW {name}").fetchone()
    return str(row[0]) if row else "?"


@contextmanager
def postgres_target(options: Options) -> Iterator[PgTarget | None]:
    """The server given by --pg-dsn, else a throwaway one; None (with a note) if neither."""
    if options.no_postgres:
        print("PostgreSQL: skipped (--no-postgres)")
        yield None
        return
    if options.pg_dsn:
        if not options.pg_dsn.startswith(("postgres://", "postgresql://")):
            raise SystemExit("--pg-dsn must be a URL: postgresql://user[:pass]@host:port/db")
        yield PgTarget(options.pg_dsn, "--pg-dsn")
        return
    bindir = find_pg_bindir()
    if bindir is None:
        print("PostgreSQL: skipped (no initdb/pg_ctl found; apt-get install postgresql)")
        yield None
        return
    with PostgresServer(bindir) as server:
        yield PgTarget(server.dsn("postgres"), f"throwaway server from {bindir}")


def main_with_postgres(
    doc: str, run: Callable[[Options, Any], Sequence[Result]], argv: list[str] | None
) -> None:
    """A bench module's `main`: common options, a PostgreSQL target, machine info, summary."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    add_common_arguments(parser)
    options = options_from(parser.parse_args(argv))
    with postgres_target(options) as pg:
        print_machine_info(pg.facts() if pg else ())
        results = run(options, pg)
    print_summary(results)


def on_both_stores(
    name: str,
    measure: Callable[[str, Any, Options], list[Result]],
    options: Options,
    pg: PgTarget | None,
) -> list[Result]:
    """`measure(backend, container, options)` on a fresh SQLite container, then on a fresh
    PostgreSQL one when a server is available (rate limits off: one client address)."""
    from infra.bootstrap import bootstrap  # the app's graph: only the benches that use it
    from infra.settings import Settings

    def measured(backend: str, data_dir: str, dsn: str) -> list[Result]:
        container = bootstrap(
            Settings(
                data_dir=Path(data_dir),
                database_url=dsn,
                jwt_secret="bench-secret-that-is-long-enough-for-hs256",
                rate_limits_enabled=False,
            )
        )
        try:
            return measure(backend, container, options)
        finally:
            container.close()

    prefix = f"fabledger-bench-{name}-"
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        results = measured("sqlite", tmp, "")
    if pg is not None:
        with pg.database(name) as dsn, tempfile.TemporaryDirectory(prefix=prefix) as tmp:
            results += measured("postgres", tmp, dsn)
    return results


class DurablePostgres(PostgresServer):
    """A throwaway server that, unlike the test one, waits for the disk (production-like)."""

    def _start_args(self) -> list[str]:
        args = super()._start_args()
        for setting in ("fsync", "full_page_writes", "synchronous_commit"):
            args[1] = args[1].replace(f"{setting}=off", f"{setting}=on")
        # As the compose deployment runs it: the scaling benchmark keeps 8 API processes up.
        args[1] = args[1].replace("max_connections=200", "max_connections=400")
        return args

    def postmaster(self) -> int:
        """The server's main process id."""
        return int((Path(self.datadir) / "postmaster.pid").read_text().split()[0])


@contextmanager
def durable_postgres(options: Options, prefix: str) -> Iterator[str | None]:
    """A fresh database on a durable server (--pg-dsn's, else a throwaway one); its URL."""
    if options.no_postgres:
        yield None
        return
    with ExitStack() as stack:
        if options.pg_dsn:
            target = PgTarget(options.pg_dsn, "--pg-dsn")
        else:
            bindir = find_pg_bindir()
            if bindir is None:
                print("durable PostgreSQL: skipped (no initdb/pg_ctl)")
                yield None
                return
            server = stack.enter_context(DurablePostgres(bindir))
            target = PgTarget(server.dsn("postgres"), "throwaway durable server")
        print("durable server: " + "; ".join(f"{k}: {v}" for k, v in target.facts()))
        with target.database(prefix) as dsn:
            yield dsn
