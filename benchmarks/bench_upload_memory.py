"""Upload memory: peak RSS of the API process while 8 clients upload 48 MB meshes at once.

    python -m benchmarks.bench_upload_memory            # 8 clients, sandboxed and in-process
    python -m benchmarks.bench_upload_memory --quick    # 4 clients, smaller meshes

`fabledger serve` runs as a subprocess on a free port with SQLite in a temp data dir. A
registered customer's clients post the same binary STL (~48 MB, ~84k separate boxes, 1M
triangles) to /api/upload-for-cart at the same moment. A sampler reads VmRSS of the API
process and of each sandbox process (its descendants: the forkserver and the workers) every
20 ms; the API's peak is also read from the kernel (VmHWM). The baseline is the same server
with the storefront analyzer swapped back to in-process analysis (the path before the
sandbox): the memory ratio is ours / baseline (lower is better). Numbers, never assertions.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import trimesh

from benchmarks.support import Result, add_common_arguments, options_from, print_table, section
from tests.support.served import free_port, wait_until_healthy

_MB = 1024 * 1024
_SAMPLE_SECONDS = 0.02
# The baseline server: the composition root builds the pre-sandbox analyzer (in process, no
# bound on uploads at once).
_IN_PROCESS = """
import sys, infra.bootstrap as root
from infra.mesh import TrimeshAnalyzer, UploadGate
def unbounded(max_bytes, **_):
    analyzer = TrimeshAnalyzer(max_bytes=max_bytes)
    analyzer.gate = UploadGate(10**6, 0, 1.0)
    return analyzer
root.SandboxedMeshAnalyzer = unbounded
from workers.cli import main
sys.exit(main(sys.argv[1:]))
"""


def boxes_stl(target_bytes: int) -> bytes:
    """A binary STL of many 1 mm boxes on a grid, just under target_bytes."""
    template = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    triangles = template.vertices[template.faces]  # (12, 3, 3)
    count = max(1, (target_bytes - 84) // (50 * len(triangles)))
    side = int(np.ceil(np.sqrt(count)))
    index = np.arange(count)
    offsets = np.stack([(index % side) * 2.0, (index // side) * 2.0, np.zeros(count)], axis=1)
    corners = (triangles[None, :, :, :] + offsets[:, None, None, :]).reshape(-1, 3, 3)
    records = np.zeros(
        len(corners), dtype=[("normal", "<f4", (3,)), ("vertices", "<f4", (3, 3)), ("attr", "<u2")]
    )
    records["vertices"] = corners
    header = b"fabledger upload-memory benchmark".ljust(80, b" ")
    return header + np.uint32(len(records)).tobytes() + records.tobytes()


def _vm(pid: int, key: str) -> int:
    """A VmRSS/VmHWM figure of a process in bytes, or 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _descendants(root: int) -> list[int]:
    """Every process below root (the sandboxes' forkserver and its workers)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found, queue = [], [root]
    while queue:
        children = parents.get(queue.pop(), [])
        found += children
        queue += children
    return found


@dataclass
class Sampler:
    """Peak RSS of the API process and of its descendants, sampled in a thread."""

    pid: int
    api_peak: int = 0
    children_peak: int = 0  # all sandbox processes together
    worker_peak: int = 0  # the largest single sandbox process
    _stop: threading.Event = field(default_factory=threading.Event)

    def _loop(self) -> None:
        while not self._stop.wait(_SAMPLE_SECONDS):
            self.api_peak = max(self.api_peak, _vm(self.pid, "VmRSS"))
            sizes = [_vm(child, "VmRSS") for child in _descendants(self.pid)]
            self.children_peak = max(self.children_peak, sum(sizes))
            self.worker_peak = max(self.worker_peak, *sizes, 0)

    @contextmanager
    def running(self) -> Iterator[Sampler]:
        thread = threading.Thread(target=self._loop, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()


@dataclass(frozen=True)
class Round:
    """What one server did with the simultaneous uploads."""

    label: str
    idle_rss: int
    api_peak: int
    api_hwm: int
    children_peak: int
    worker_peak: int
    statuses: Counter[int]
    seconds: float


@contextmanager
def serving(tmp: Path, label: str, sandboxed: bool) -> Iterator[tuple[int, httpx.Client]]:
    """`fabledger serve` (or the in-process baseline) on a free port; its pid and a client."""
    port = free_port()
    env = {
        **os.environ,
        "FABLEDGER_DATA_DIR": str(tmp / f"data-{label}"),
        "FABLEDGER_JWT_SECRET": "bench-jwt-secret-long-enough-for-hs256-signing",
        "FABLEDGER_LOG_LEVEL": "WARNING",
        "FABLEDGER_RATE_LIMITS_ENABLED": "false",  # more uploads than the upload limit allows
        "PYTHONUNBUFFERED": "1",
    }
    launcher = ["-m", "workers.cli"] if sandboxed else ["-c", _IN_PROCESS]
    log = tmp / f"serve-{label}.log"
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, *launcher, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=Path(__file__).resolve().parents[1],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as client:
            wait_until_healthy(client, process, log)
            yield process.pid, client
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def measure(tmp: Path, label: str, sandboxed: bool, model: bytes, clients: int) -> Round:
    """Register, warm up with one small upload, then `clients` uploads at the same moment."""
    with serving(tmp, label, sandboxed) as (pid, client):
        answer = client.post(
            "/api/auth/register",
            json={"username": "bench", "email": "bench@example.com", "password": "bench pass 1"},
        )
        answer.raise_for_status()
        auth = {"Authorization": f"Bearer {answer.json()['token']}"}
        cube = boxes_stl(2000)
        files = {"model_file": ("warm.stl", cube, "application/octet-stream")}
        client.post("/api/upload-for-cart", headers=auth, files=files).raise_for_status()
        idle = _vm(pid, "VmRSS")
        statuses: Counter[int] = Counter()
        gate, lock = threading.Barrier(clients), threading.Lock()

        def one(n: int) -> None:
            body = {"model_file": (f"part{n}.stl", model, "application/octet-stream")}
            gate.wait()
            try:
                status = client.post("/api/upload-for-cart", headers=auth, files=body).status_code
            except httpx.HTTPError:
                status = 0  # the connection broke (the server was killed)
            with lock:
                statuses[status] += 1

        with Sampler(pid).running() as sampler:
            started = time.perf_counter()
            threads = [threading.Thread(target=one, args=(n,)) for n in range(clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            seconds = time.perf_counter() - started
            time.sleep(0.2)
        return Round(
            label=label,
            idle_rss=idle,
            api_peak=sampler.api_peak,
            api_hwm=_vm(pid, "VmHWM"),
            children_peak=sampler.children_peak,
            worker_peak=sampler.worker_peak,
            statuses=statuses,
            seconds=seconds,
        )


def _mb(value: int) -> str:
    return f"{value / _MB:,.0f}"


def run(quick: bool = False) -> list[Result]:
    """Both servers, one after the other; print the table and return the memory ratios."""
    clients, size_mb = (4, 16) if quick else (8, 48)
    model = boxes_stl(size_mb * _MB)
    section(f"Upload memory: {clients} clients upload a {len(model) / _MB:.1f} MB STL at once")
    with tempfile.TemporaryDirectory(prefix="fabledger-upload-mem-") as tmp:
        rounds = [
            measure(Path(tmp), "sandboxed", True, model, clients),
            measure(Path(tmp), "in-process", False, model, clients),
        ]
    print_table(
        [
            "analysis",
            "API idle MB",
            "API peak MB (sampled)",
            "API peak MB (VmHWM)",
            "sandbox procs peak MB",
            "largest sandbox proc MB",
            "answers",
            "seconds",
        ],
        [
            [
                r.label,
                _mb(r.idle_rss),
                _mb(r.api_peak),
                _mb(r.api_hwm),
                _mb(r.children_peak),
                _mb(r.worker_peak),
                ", ".join(f"{code}: {n}" for code, n in sorted(r.statuses.items())),
                f"{r.seconds:.1f}",
            ]
            for r in rounds
        ],
    )
    ours, baseline = rounds
    return [
        Result(
            "upload_memory",
            "sqlite",
            f"API peak RSS, {clients} x {size_mb} MB uploads (sandboxed / in-process)",
            ours.api_hwm / _MB,
            baseline.api_hwm / _MB,
            unit=" MB",
            note="lower is better",
        )
    ]


def main(argv: list[str] | None = None) -> None:
    """python -m benchmarks.bench_upload_memory [--quick]."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    options = options_from(parser.parse_args(argv))
    run(quick=options.quick)


if __name__ == "__main__":
    main()
