"""DFM analysis: ms per quick_info and analyze call on rear_case.stl and icospheres.

    python -m benchmarks.bench_dfm            # rear_case, icosphere(6) 82k and (7) 328k faces
    python -m benchmarks.bench_dfm --quick    # rear_case and icosphere(6)
    python -m benchmarks.bench_dfm --rounds 9 --engine numpy

analyze runs in the sandboxed worker pool (pickling the upload there and the report back
is part of its time); the pool is started before timing, and its start-up is shown apart.
Median and best of the rounds, wall clock (time.perf_counter). Timings, never assertions.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import trimesh

from benchmarks.support import median, print_table, section
from domain.catalog import DEFAULT_PRINTER
from infra.dfm import DfmParams, TrimeshDfmAnalyzer
from infra.dfm.raycast import embree_available

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "data" / "meshes" / "numpy-stl"
_MB = 1024 * 1024


def models(quick: bool) -> list[tuple[str, bytes]]:
    """(label, STL bytes) of the models to time."""
    found = []
    rear_case = CORPUS / "stl_binary" / "rear_case.stl"
    if rear_case.is_file():
        found.append(("rear_case.stl (18,808 faces)", rear_case.read_bytes()))
    for subdivisions in (6,) if quick else (6, 7):
        sphere = trimesh.creation.icosphere(subdivisions=subdivisions, radius=40.0)
        exported = sphere.export(file_type="stl")
        assert isinstance(exported, bytes)
        label = f"icosphere({subdivisions}) ({len(sphere.faces):,} faces)"
        found.append((label, exported))
    return found


def per_call_ms(call: Callable[[], Any], rounds: int) -> tuple[float, float]:
    """(median, best) milliseconds of rounds calls."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000.0)
    return median(times), min(times)


def run(
    quick: bool = False, rounds: int = 5, engines: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Time every model with every engine, print the table, return summary rows."""
    engines = engines or (("numpy", "embree") if embree_available() else ("numpy",))
    inputs = models(quick)
    rows: list[list[str]] = []
    summary: list[dict[str, Any]] = []
    for engine in engines:
        params = DfmParams(ray_engine=engine)
        analyzer = TrimeshDfmAnalyzer(max_bytes=100 * _MB, workers=1, params=params)
        try:
            started = time.perf_counter()
            analyzer.analyze(inputs[0][1], "warm-up.stl", [DEFAULT_PRINTER])
            cold_ms = (time.perf_counter() - started) * 1000.0
            print(f"{engine}: pool start + first analyze {cold_ms:,.0f} ms")
            for label, data in inputs:
                name = "model.stl"
                quick_ms = per_call_ms(partial(analyzer.quick_info, data, name), rounds)
                analyze_call = partial(analyzer.analyze, data, name, [DEFAULT_PRINTER])
                analyze_ms = per_call_ms(analyze_call, rounds)
                report = analyzer.analyze(data, name, [DEFAULT_PRINTER])
                rows.append(
                    [
                        label,
                        engine,
                        f"{quick_ms[0]:,.1f}",
                        f"{quick_ms[1]:,.1f}",
                        f"{analyze_ms[0]:,.1f}",
                        f"{analyze_ms[1]:,.1f}",
                        str(report["score"]),
                    ]
                )
                summary.append(
                    {
                        "bench": "dfm",
                        "backend": engine,
                        "metric": f"analyze {label}",
                        "ours": 1000.0 / analyze_ms[0],
                        "baseline": 1000.0 / quick_ms[0],
                        "unit": "/s",
                        "note": "baseline = quick_info of the same file",
                    }
                )
        finally:
            analyzer.close()
    section(f"DFM analysis, ms per call ({rounds} rounds)")
    print_table(
        ["model", "rays", "quick_info med", "best", "analyze med", "best", "score"],
        rows,
        align="llrrrrr",
    )
    return summary


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 328k-face sphere")
    parser.add_argument("--rounds", type=int, default=5, help="calls timed per figure")
    parser.add_argument("--engine", choices=("numpy", "embree"), action="append", default=[])
    args = parser.parse_args(argv)
    run(quick=args.quick, rounds=args.rounds, engines=tuple(args.engine))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
