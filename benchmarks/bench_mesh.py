"""Mesh analysis of a 1.3M-face binary STL against a raw numpy pass over the same bytes.

    python -m benchmarks.bench_mesh            # icosphere(subdivisions=8): 1,310,720 faces
    python -m benchmarks.bench_mesh --quick    # subdivisions=7: 327,680 faces
    python -m benchmarks.bench_mesh --trimesh  # also time trimesh's own load/split route

Best of 3 wall-clock runs (time.perf_counter), taken in alternation so drift hits every
path alike; peak memory is tracemalloc's peak over a separate call (numpy reports its
buffers to tracemalloc; the input bytes are allocated before tracing starts).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import trimesh

from infra.mesh import TrimeshAnalyzer

_RECORD = np.dtype([("normal", "<f4", (3,)), ("vertices", "<f4", (3, 3)), ("attr", "<u2")])
_MB = 1024 * 1024
GOAL = 3.0  # ours may take at most this many times the baseline


@dataclass(frozen=True)
class Path:
    """One way of getting figures out of the STL bytes."""

    name: str
    fn: Callable[[bytes], Any]
    seconds: float = float("nan")
    peak_bytes: int = 0


def sphere_stl(subdivisions: int) -> bytes:
    """A watertight icosphere as binary STL bytes, built in memory."""
    exported = trimesh.creation.icosphere(subdivisions=subdivisions).export(file_type="stl")
    return bytes(exported)


def baseline(data: bytes) -> tuple[float, np.ndarray]:
    """The raw pass as specified: frombuffer, sum(dot(v0, cross(v1, v2))) / 6, bbox."""
    triangles = np.frombuffer(data, dtype=_RECORD, offset=84)["vertices"].astype(np.float64)
    v0, v1, v2 = triangles[:, 0], triangles[:, 1], triangles[:, 2]
    volume = float(np.einsum("ij,ij->", v0, np.cross(v1, v2))) / 6.0
    points = triangles.reshape(-1, 3)
    return volume, points.max(axis=0) - points.min(axis=0)


def baseline_tuned(data: bytes) -> tuple[float, np.ndarray]:
    """The same figures, hand-vectorised per component (a floor no analysis can reach)."""
    triangles = np.frombuffer(data, dtype=_RECORD, offset=84)["vertices"]
    (x0, x1, x2), (y0, y1, y2), (z0, z1, z2) = np.ascontiguousarray(
        triangles.transpose(2, 1, 0), dtype=np.float64
    )
    volume = float(
        (x0 * (y1 * z2 - z1 * y2) + y0 * (z1 * x2 - x1 * z2) + z0 * (x1 * y2 - y1 * x2)).sum()
    )
    axes = (np.stack((x0, x1, x2)), np.stack((y0, y1, y2)), np.stack((z0, z1, z2)))
    return volume / 6.0, np.array([a.max() - a.min() for a in axes])


def trimesh_route(data: bytes) -> tuple[float, int, bool]:
    """What the adapter replaces: trimesh's loader, processing and split."""
    mesh = trimesh.load(io.BytesIO(data), file_type="stl", force="mesh")
    assert isinstance(mesh, trimesh.Trimesh)
    return float(mesh.volume), len(mesh.split(only_watertight=False)), bool(mesh.is_watertight)


def peak_memory(fn: Callable[[bytes], Any], data: bytes) -> int:
    """tracemalloc's peak, in bytes, over one call."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        fn(data)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def measure(paths: list[Path], data: bytes, repeats: int = 3) -> list[Path]:
    """Best-of-`repeats` time and the peak memory of every path."""
    best = {path.name: float("inf") for path in paths}
    for round_index in range(repeats):
        ordered = paths if round_index % 2 == 0 else paths[::-1]
        for path in ordered:
            start = time.perf_counter()
            path.fn(data)
            best[path.name] = min(best[path.name], time.perf_counter() - start)
    return [Path(path.name, path.fn, best[path.name], peak_memory(path.fn, data)) for path in paths]


def run(quick: bool = False, with_trimesh: bool = False) -> list[dict[str, Any]]:
    """Measure, print the table, and return summary rows for `python -m benchmarks`."""
    subdivisions = 7 if quick else 8
    data = sphere_stl(subdivisions)
    faces = (len(data) - 84) // 50
    analyzer = TrimeshAnalyzer(max_bytes=len(data))
    summary = analyzer.analyze(data, "sphere.stl")
    volume, _ = baseline(data)
    assert abs(summary.volume_cm3 * 1000 - volume) <= 1e-9 * abs(volume), "volumes disagree"

    paths = [
        Path("TrimeshAnalyzer().analyze", lambda d: analyzer.analyze(d, "sphere.stl")),
        Path("baseline: frombuffer + cross volume + bbox", baseline),
        Path("baseline, hand-vectorised", baseline_tuned),
    ]
    if with_trimesh:
        paths.append(Path("trimesh.load + split + is_watertight", trimesh_route))
    results = measure(paths, data)
    ours, reference, tuned = results[0], results[1], results[2]

    print(
        f"icosphere(subdivisions={subdivisions}): {faces:,} faces, binary STL "
        f"{len(data) / _MB:.1f} MB; best of 3; analyze() found {summary.body_count} body, "
        f"watertight={summary.is_watertight}"
    )
    print()
    rows = [
        (
            p.name,
            f"{p.seconds:.3f} s",
            f"{p.seconds / reference.seconds:.2f}x",
            f"{p.peak_bytes / _MB:,.0f} MB",
        )
        for p in results
    ]
    _print_table(("path", "time", "vs baseline", "peak memory (tracemalloc)"), rows)
    ratio = ours.seconds / reference.seconds
    verdict = "met" if ratio <= GOAL else "NOT met"
    print()
    print(f"ratio ours/baseline = {ratio:.2f}x (goal <= {GOAL:g}x): {verdict}")
    print(
        f"ratio ours/hand-vectorised baseline = {ours.seconds / tuned.seconds:.1f}x "
        "(volume and bbox only; no vertex merging, edge pairing or components)"
    )
    return [
        {
            "bench": "mesh",
            "backend": "numpy",
            "metric": f"analyze {faces / 1e6:.2f}M-face STL",
            "ours": 1.0 / ours.seconds,
            "baseline": 1.0 / reference.seconds,
            "unit": "/s",
            "goal": 1.0 / GOAL,
            "note": f"time ours/baseline {ratio:.2f}x (goal <= {GOAL:g}x)",
        }
    ]


def _print_table(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: tuple[str, ...]) -> str:
        first, *rest = cells
        return "  ".join(
            [first.ljust(widths[0]), *(c.rjust(w) for c, w in zip(rest, widths[1:], strict=True))]
        )

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="327,680 faces instead of 1.3M")
    parser.add_argument("--trimesh", action="store_true", help="also time trimesh's route")
    args = parser.parse_args(argv)
    run(quick=args.quick, with_trimesh=args.trimesh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
