"""PrusaSlicer's command line as a slicing adapter: one subprocess per job, fenced in.

The job's profile is a file we write (domain.slicing.SliceProfile.ini_text) and pass with
`--load`; the argv is a list (never a shell); the slicer runs in its own process group
with a deadline, an address-space cap and a cap on the size of any file it writes. Only
the tail of the G-code is parsed (the summary comments are at the end).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import resource
import signal
import subprocess
from functools import partial
from pathlib import Path

import numpy as np

from domain.slicing import (
    GcodeSummaryError,
    SliceFailure,
    SliceProfile,
    SliceResult,
    SlicingFailed,
    parse_gcode_summary,
)
from infra.mesh.corners import Corners
from infra.mesh.obj import parse_obj
from infra.mesh.stl import parse_stl
from infra.mesh.threemf import parse_3mf

__all__ = ["GCODE_NAME", "PrusaSlicer", "SlicerUnavailable", "SlicingFailed", "plain_stl"]

GCODE_NAME = "out.gcode"
# Formats that hold only geometry; a 3MF or AMF also carries slicer settings, which
# PrusaSlicer would apply under ours (see plain_stl).
SLICEABLE = (".stl", ".obj")
_MB = 1024 * 1024
_TAIL_BYTES = 64 * 1024  # the summary plus PrusaSlicer's config dump (~12 KB) fit easily
_LOG_TAIL_BYTES = 8 * 1024
_CHUNK = 1024 * 1024
_VERSION = re.compile(r"PrusaSlicer-(\d+\.\d+\.\d+\S*)")
_MEMORY = re.compile(
    r"bad_alloc|failed to map segment|cannot allocate memory|out of memory|"
    r"resource temporarily unavailable",
    re.IGNORECASE,
)
_UNPRINTABLE = re.compile(
    r"loading of a model file failed|nothing to print|no extrusions in the first layer|"
    r"print volume|is empty|empty layer|no layers",
    re.IGNORECASE,
)
# Progress and log-level lines say nothing about why a job failed.
_NOISE = re.compile(r"^\s*(\[\d{4}-\d\d-\d\d [^]]*\].*|\d+ => .*|)$")


class SlicerUnavailable(RuntimeError):
    """The slicer executable is missing or does not run at all (not the model's fault)."""


class PrusaSlicer:
    """Slices one model file with one profile; `slice` returns the firm figures."""

    def __init__(self, executable: str = "prusa-slicer", max_gcode_bytes: int = 1024 * _MB) -> None:
        self.executable = executable
        self.max_gcode_bytes = max_gcode_bytes
        self._version: str | None = None

    def available(self) -> bool:
        """Whether the executable runs and names its version."""
        try:
            self.version()
        except SlicerUnavailable:
            return False
        return True

    def version(self) -> str:
        """'PrusaSlicer-2.5.0+...' from the `--help` banner (asked once per instance)."""
        if self._version is None:
            try:
                done = subprocess.run(  # noqa: S603 - a fixed argv list, no shell
                    [self.executable, "--help"],
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    timeout=60,
                    check=False,
                    env=_environment(None),
                )
            except (OSError, subprocess.SubprocessError) as error:
                raise SlicerUnavailable(f"cannot run {self.executable}: {error}") from error
            found = _VERSION.search(done.stdout.decode(errors="replace")[:_LOG_TAIL_BYTES])
            if found is None:
                raise SlicerUnavailable(f"{self.executable} --help names no PrusaSlicer version")
            self._version = f"PrusaSlicer-{found.group(1)}"
        return self._version

    def gcode_path(self, workdir: Path) -> Path:
        """Where `slice` leaves the job's G-code (for GcodeStore.put)."""
        return workdir / GCODE_NAME

    def slice(
        self,
        model_path: Path,
        profile: SliceProfile,
        workdir: Path,
        timeout_s: float,
        memory_bytes: int,
    ) -> SliceResult:
        """Slice the model (STL or OBJ) into workdir/out.gcode; SlicingFailed says why not."""
        model = Path(model_path).resolve()  # absolute: a name can never read as an option
        if model.suffix.lower() not in SLICEABLE:
            raise ValueError(f"slice only {SLICEABLE} files; convert others with plain_stl")
        if not model.is_file():
            raise FileNotFoundError(model)
        if timeout_s <= 0 or memory_bytes <= 0:
            raise ValueError("the time and memory limits must be positive")
        version = self.version()
        workdir.mkdir(parents=True, exist_ok=True)
        config = workdir / "profile.ini"
        config.write_text(profile.ini_text())
        output = self.gcode_path(workdir)
        output.unlink(missing_ok=True)  # a stale file must never pass for this job's result
        centre_x, centre_y = profile.center_mm()
        argv = [
            self.executable,
            "--loglevel",
            "1",
            "--load",
            str(config),
            "--export-gcode",
            "--center",
            f"{centre_x:f},{centre_y:f}",
            "--output",
            str(output),
            str(model),
        ]
        log = workdir / "slicer.log"
        code = self._run(argv, workdir, log, timeout_s, memory_bytes)
        said = _explanation(log, model, workdir)
        reason = _classify(code, said)
        if reason is not None:
            detail = said or f"exit status {code}"
            if code == -signal.SIGXFSZ:
                detail = f"the G-code grew past {self.max_gcode_bytes // _MB} MB"
            raise SlicingFailed(reason, detail)
        if not output.is_file() or output.stat().st_size == 0:
            raise SlicingFailed(SliceFailure.NO_OUTPUT, said or "no G-code file was written")
        digest, size, tail = _scan(output)
        try:
            figures = parse_gcode_summary(tail)
        except GcodeSummaryError as error:
            raise SlicingFailed(SliceFailure.NO_OUTPUT, error.message) from None
        return SliceResult(
            **figures,
            slicer_version=version,
            profile_fingerprint=profile.fingerprint(),
            gcode_sha256=digest,
            gcode_bytes=size,
        )

    def _run(
        self, argv: list[str], workdir: Path, log: Path, timeout_s: float, memory_bytes: int
    ) -> int:
        """The exit status (negative: the signal), or SlicingFailed(timeout)."""
        limits = partial(_limit_child, memory_bytes, self.max_gcode_bytes)
        with log.open("wb") as sink:
            try:
                process = subprocess.Popen(  # noqa: S603 - a fixed argv list, no shell
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    cwd=workdir,
                    env=_environment(workdir),
                    start_new_session=True,  # its own process group: killed as one
                    # Only setrlimit runs between fork and exec: no lock a thread could hold.
                    preexec_fn=limits,
                )
            except OSError as error:
                raise SlicerUnavailable(f"cannot run {self.executable}: {error}") from error
            try:
                return process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                _kill_group(process)
                raise SlicingFailed(
                    SliceFailure.TIMEOUT, f"no result after {timeout_s:g} s"
                ) from None
            finally:
                _kill_group(process)  # threads or helpers it left behind


def _limit_child(memory_bytes: int, max_file_bytes: int) -> None:
    """In the child before exec: cap address space and file size, no core dumps."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _environment(workdir: Path | None) -> dict[str, str]:
    """A small environment: C locale (decimal points), home and temp in the job's dir."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        # glibc reserves 64 MB of address space per malloc arena and thread; two arenas
        # keep the address-space cap close to what the slicer really uses.
        "MALLOC_ARENA_MAX": "2",
    }
    if workdir is not None:
        env["HOME"] = str(workdir)
        env["TMPDIR"] = str(workdir)
    return env


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _classify(code: int, said: str) -> SliceFailure | None:
    """The failure reason of an exit status and the slicer's last words, None if fine."""
    if code == 0:
        return None
    if code == -signal.SIGXFSZ:
        return SliceFailure.NO_OUTPUT
    if _MEMORY.search(said):
        return SliceFailure.OUT_OF_MEMORY
    if code > 0 and _UNPRINTABLE.search(said):
        return SliceFailure.UNPRINTABLE
    return SliceFailure.CRASHED


def _explanation(log: Path, model: Path, workdir: Path) -> str:
    """The meaningful end of the slicer's output, without our paths."""
    with log.open("rb") as handle:
        handle.seek(max(0, log.stat().st_size - _LOG_TAIL_BYTES))
        text = handle.read().decode(errors="replace")
    lines = [line.strip() for line in text.splitlines() if not _NOISE.match(line)]
    said = " ".join(lines[-4:])
    for path, name in ((str(model), model.name), (str(workdir), ".")):
        said = said.replace(path, name)
    return said[:300]


def _scan(path: Path) -> tuple[str, int, str]:
    """(sha256, size, decoded tail) in one streaming pass: the file is never held whole."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
        handle.seek(max(0, size - _TAIL_BYTES))
        tail = handle.read(_TAIL_BYTES).decode(errors="replace")
    return digest.hexdigest(), size, tail


def plain_stl(data: bytes, filename: str, target: Path, max_faces: int = 5_000_000) -> Path:
    """Any accepted upload (STL, OBJ, 3MF) as a binary STL of its triangles only.

    A 3MF can carry PrusaSlicer settings (even a post-processing command) that the slicer
    applies under ours; its geometry, read by our own parsers, is all the slicer gets.
    """
    suffix = Path(filename).suffix.lower()
    parsers = {
        ".stl": lambda: parse_stl(data, max_faces),
        ".obj": lambda: parse_obj(data, max_faces),
        ".3mf": lambda: parse_3mf(data, max_faces, 5 * max(len(data), _MB)),
    }
    if suffix not in parsers:
        raise ValueError(f"cannot convert {suffix or 'a file without extension'} to STL")
    _write_stl(parsers[suffix](), target)
    return target


def _write_stl(corners: Corners, target: Path) -> None:
    """Binary STL from (axis, corner, face) corners, with each face's unit normal.

    Zero normals are not safe: PrusaSlicer 2.5 refused a 15 mm cube written with them
    ("Loading of a model file failed") while it sliced the same file with real ones.
    """
    faces = corners.shape[2]
    records = np.zeros(
        faces, dtype=np.dtype([("normal", "<f4", (3,)), ("vertices", "<f4", (3, 3)), ("a", "<u2")])
    )
    vertices = corners.transpose(2, 1, 0).astype(np.float64)
    normals = np.cross(vertices[:, 1] - vertices[:, 0], vertices[:, 2] - vertices[:, 0])
    lengths = np.linalg.norm(normals, axis=1, keepdims=True)
    records["normal"] = np.divide(normals, lengths, out=np.zeros_like(normals), where=lengths > 0)
    records["vertices"] = vertices
    with target.open("wb") as out:
        out.write(b"fabledger plain STL".ljust(80, b" "))
        out.write(np.uint32(faces).tobytes())
        out.write(records.tobytes())
