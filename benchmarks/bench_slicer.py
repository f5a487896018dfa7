"""Slicing throughput of the worker's adapter for a 20k-face part, and the slicer's memory.

    python -m benchmarks --only slicer           # rear_case.stl and a 20,480-face sphere
    python -m benchmarks --only slicer --quick   # the sphere only, fewer rounds

Ours: infra.slicer.PrusaSlicer.slice (profile file, subprocess with limits, tail parse) at
20 % infill for the default printer. Baselines, side by side on the same file: our mesh
analysis of the upload (infra.mesh.TrimeshAnalyzer) and `prusa-slicer --info` (the
slicer's start-up and mesh loading, no slicing). Peak memory is the slicer process's
maximum resident set (getrusage(RUSAGE_CHILDREN).ru_maxrss), measured in a child Python
process that runs nothing but these slices, so no earlier child of ours counts.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.support import Result, print_table
from domain.catalog import DEFAULT_COST_SETTINGS, DEFAULT_MATERIALS, DEFAULT_PRINTER
from domain.slicing import SliceProfile
from infra.mesh import TrimeshAnalyzer
from infra.slicer import PrusaSlicer
from tests.support import parts

MESHES = Path(__file__).resolve().parent.parent / "tests" / "data" / "meshes" / "numpy-stl"
TIMEOUT_S = 300.0
MEMORY_BYTES = 4 * 1024**3


def _parts(quick: bool) -> list[tuple[str, bytes]]:
    sphere = parts.sphere(60, subdivisions=5)  # 20,480 faces
    found = [(f"{sphere.name} (20,480 faces)", sphere.stl())]
    if not quick:
        rear = (MESHES / "stl_binary" / "rear_case.stl").read_bytes()
        found.insert(0, ("rear_case.stl (18,808 faces)", rear))
    return found


def measure(stl: Path, rounds: int) -> dict[str, float]:
    """In this process: seconds per slice, per --info and per analysis; slicer peak RSS."""
    slicer = PrusaSlicer()
    profile = SliceProfile.for_job(DEFAULT_PRINTER, DEFAULT_MATERIALS[0], DEFAULT_COST_SETTINGS, 20)
    data = stl.read_bytes()
    analyzer = TrimeshAnalyzer(max_bytes=len(data) + 1)
    slices, infos, analyses = [], [], []
    for _ in range(rounds):  # alternating, so drift on a shared machine hits all three
        with tempfile.TemporaryDirectory(prefix="fabledger-bench-slice-") as tmp:
            start = time.perf_counter()
            slicer.slice(stl, profile, Path(tmp), TIMEOUT_S, MEMORY_BYTES)
            slices.append(time.perf_counter() - start)
        start = time.perf_counter()
        subprocess.run(
            [slicer.executable, "--info", str(stl)], capture_output=True, check=True, timeout=60
        )
        infos.append(time.perf_counter() - start)
        start = time.perf_counter()
        analyzer.analyze(data, stl.name)
        analyses.append(time.perf_counter() - start)
    # --info runs load the same mesh with less work, so the maximum is a slice's.
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "slice_s": statistics.median(slices),
        "info_s": statistics.median(infos),
        "analyze_s": statistics.median(analyses),
        "peak_rss_mb": peak_kb / 1024,
    }


def run(quick: bool = False) -> list[Result]:
    """Measure each part in a fresh child process and print the table."""
    if not PrusaSlicer().available():
        print("slicer: skipped (prusa-slicer not found; apt-get install prusa-slicer)")
        return []
    rounds = 3 if quick else 5
    rows, results = [], []
    for name, data in _parts(quick):
        with tempfile.TemporaryDirectory(prefix="fabledger-bench-slicer-") as tmp:
            stl = Path(tmp) / "part.stl"
            stl.write_bytes(data)
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.bench_slicer",
                    "--measure",
                    str(stl),
                    str(rounds),
                ],
                capture_output=True,
                check=True,
                text=True,
            )
        m = json.loads(done.stdout.strip().splitlines()[-1])
        per_min = 60 / m["slice_s"]
        rows.append(
            [
                name,
                f"{m['slice_s']:.2f} s",
                f"{per_min:.1f}",
                f"{m['info_s']:.2f} s",
                f"{m['analyze_s'] * 1000:.0f} ms",
                f"{m['peak_rss_mb']:.0f} MB",
            ]
        )
        results += [
            Result(
                "slicer",
                "prusaslicer",
                f"slice {name} vs prusa-slicer --info",
                per_min,
                60 / m["info_s"],
                unit="/min",
                note=f"slicer peak RSS {m['peak_rss_mb']:.0f} MB",
            ),
            Result(
                "slicer",
                "prusaslicer",
                f"slice {name} vs our mesh analysis",
                per_min,
                60 / m["analyze_s"],
                unit="/min",
            ),
        ]
    print(f"median of {rounds} rounds each; one slice at a time (PrusaSlicer uses every core)")
    print_table(
        ["part", "slice", "slices/min", "--info", "analyze()", "slicer peak RSS"],
        rows,
        align="lrrrrr",
    )
    return results


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--measure":
        print(json.dumps(measure(Path(sys.argv[2]), int(sys.argv[3]))))
    else:
        run(quick="--quick" in sys.argv[1:])
