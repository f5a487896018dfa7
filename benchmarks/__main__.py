"""Run the benchmarks and print one summary table at the end.

    python -m benchmarks                   # mesh, placement, rebuild, then any other bench_*.py
    python -m benchmarks --quick           # smaller sizes
    python -m benchmarks --only rebuild    # one benchmark (repeatable)
    python -m benchmarks --profile         # also print where the time goes (where supported)
    python -m benchmarks --list            # what would run, and how each module is called

Every ``benchmarks/bench_NAME.py`` is a benchmark called NAME. Each is called through
its ``run(...)``, whose parameters are matched by name (``options``, ``quick``, ``pg``,
``profile``, ``no_postgres``; others must have defaults), else through ``main(argv)``.
``run`` returns summary rows: ``benchmarks.support.Result`` objects or dicts with the
same fields. One PostgreSQL server is started for all benchmarks whose ``run`` takes
``pg`` (or ``--pg-dsn`` is used).

Ratios, never timed assertions: the exit status is 0 unless a benchmark crashed.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from contextlib import nullcontext
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

from benchmarks.support import (
    Options,
    PgTarget,
    Result,
    add_common_arguments,
    fmt_seconds,
    options_from,
    postgres_target,
    print_machine_info,
    print_summary,
    section,
)

FIRST = ("mesh", "placement", "rebuild")  # in this order; then the others by name


def discover() -> list[str]:
    """Benchmark names: the three first (mesh even if its module is missing), then the rest."""
    found = {path.stem.removeprefix("bench_") for path in Path(__file__).parent.glob("bench_*.py")}
    return [*FIRST, *sorted(found - set(FIRST))]


def load(name: str) -> ModuleType | None:
    """benchmarks.bench_NAME, or None if there is no such module."""
    try:
        return importlib.import_module(f"benchmarks.bench_{name}")
    except ModuleNotFoundError as missing:
        if missing.name != f"benchmarks.bench_{name}":
            raise
        return None


def _attr(item: object, name: str) -> Any:
    return getattr(item, name, None)


def _as_results(value: Any) -> list[Result]:
    """Summary rows from whatever a benchmark returned (Result-like objects or dicts)."""
    if not isinstance(value, list | tuple):
        return []
    fields = ("bench", "backend", "metric", "ours", "baseline")
    rows = []
    for item in value:
        if isinstance(item, Result):
            rows.append(item)
            continue
        get: Callable[[str], Any] = item.get if isinstance(item, dict) else partial(_attr, item)
        if all(get(name) is not None for name in fields):
            extra = {k: get(k) for k in ("unit", "goal", "note") if get(k) is not None}
            rows.append(Result(*(get(name) for name in fields), **extra))
    return rows


def _offered(options: Options, pg: PgTarget | None) -> dict[str, Any]:
    return {
        "options": options,
        "opts": options,
        "quick": options.quick,
        "pg": pg,
        "profile": options.profile,
        "no_postgres": options.no_postgres,
    }


def run_arguments(module: ModuleType, offered: dict[str, Any]) -> dict[str, Any] | None:
    """The keyword arguments for module.run, or None if it has no run() we can call."""
    run = getattr(module, "run", None)
    if not callable(run):
        return None
    kwargs = {}
    for name, param in inspect.signature(run).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if name in offered:
            kwargs[name] = offered[name]
        elif param.default is param.empty:
            return None
    return kwargs


def wants_postgres(module: ModuleType | None) -> bool:
    """Whether the module's run() takes a PostgreSQL target."""
    kwargs = run_arguments(module, dict.fromkeys(_offered(Options(), None))) if module else None
    return kwargs is not None and "pg" in kwargs


def _call_main(module: ModuleType, argv: list[str]) -> list[Result]:
    """module.main(argv) (or main() with sys.argv set)."""
    main = module.main
    takes_argv = bool(inspect.signature(main).parameters)
    saved = sys.argv
    try:
        if not takes_argv:
            sys.argv = [module.__name__, *argv]
        returned = main(argv) if takes_argv else main()
    except SystemExit as stop:
        if stop.code not in (0, None):
            if argv and stop.code == 2:  # argparse refused a flag: run it as it is
                return _call_main(module, [])
            raise RuntimeError(f"{module.__name__}.main exited with {stop.code}") from stop
        returned = None
    finally:
        sys.argv = saved
    if isinstance(returned, int) and returned != 0:
        raise RuntimeError(f"{module.__name__}.main returned {returned}")
    return _as_results(returned)


def run_benchmark(name: str, options: Options, pg: PgTarget | None) -> list[Result]:
    """One benchmark through run(...), else main(argv), else as a script."""
    module = load(name)
    if module is None:
        print(f"{name}: skipped (benchmarks/bench_{name}.py is not there)")
        return []
    kwargs = run_arguments(module, _offered(options, pg))
    if kwargs is not None:
        return _as_results(module.run(**kwargs))
    argv = [flag for flag, on in (("--quick", options.quick), ("--profile", options.profile)) if on]
    if callable(getattr(module, "main", None)):
        return _call_main(module, argv)
    subprocess.run([sys.executable, "-m", module.__name__, *argv], check=True)
    return []


def describe(names: list[str]) -> None:
    """--list: each benchmark and how it would be called."""
    for name in names:
        module = load(name)
        if module is None:
            how = "missing"
        elif (kwargs := run_arguments(module, _offered(Options(), None))) is not None:
            how = f"run({', '.join(kwargs)})"
        elif callable(getattr(module, "main", None)):
            how = "main(argv)"
        else:
            how = "python -m (script)"
        print(f"{name:12s} {how}")


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks; 1 if any of them crashed, else 0."""
    names = discover()
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    add_common_arguments(parser)
    parser.add_argument(
        "--only", action="append", choices=names, metavar="NAME", help=", ".join(names)
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    chosen = [name for name in names if not args.only or name in args.only]
    if args.list:
        describe(chosen)
        return 0
    options = options_from(args)
    needs_pg = any(wants_postgres(load(name)) for name in chosen)
    results: list[Result] = []
    crashed: list[str] = []
    started = time.perf_counter()
    with postgres_target(options) if needs_pg else nullcontext() as pg:
        print_machine_info(pg.facts() if pg else ())
        print(f"benchmarks: {', '.join(chosen)}{' (quick)' if options.quick else ''}")
        for name in chosen:
            section(f"{name} benchmark")
            bench_start = time.perf_counter()
            try:
                results += run_benchmark(name, options, pg)
            except Exception:
                traceback.print_exc()
                crashed.append(name)
            print(f"[{name}: {fmt_seconds(time.perf_counter() - bench_start)}]", flush=True)
    print_summary(results, "Summary (ratio = ours / baseline, measured side by side)")
    print(f"total: {fmt_seconds(time.perf_counter() - started)}")
    if crashed:
        print(f"CRASHED: {', '.join(crashed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
