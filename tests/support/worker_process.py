"""A `fabledger worker ...` subprocess: started, SIGTERMed and timed, always killed."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STOP_TIMEOUT = 10.0


class WorkerProcess:
    """One running worker whose output goes to a log file."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path, *args: str) -> None:
        self.log = log
        with log.open("ab") as sink:
            self.process = subprocess.Popen(
                [*command, "worker", *args],
                env=env,
                cwd=log.parent,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )

    def wait_for_log(self, text: str, timeout: float = 30.0) -> None:
        """Block until `text` is in the log (the worker started, recovered, ...)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log.read_text(errors="replace"):
                return
            if self.process.poll() is not None:
                raise AssertionError(f"worker exited {self.process.returncode}:\n{self.tail()}")
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not logged within {timeout} s:\n{self.tail()}")

    def terminate(self) -> tuple[int, float]:
        """SIGTERM; (exit code, seconds it took to exit)."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"worker ignored SIGTERM for {STOP_TIMEOUT} s") from None
        return code, time.monotonic() - started

    def kill(self) -> None:
        """SIGKILL if still running."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)

    def tail(self, chars: int = 4000) -> str:
        """The end of the log."""
        return self.log.read_text(errors="replace")[-chars:]


@contextmanager
def worker(
    command: list[str], env: dict[str, str], log: Path, *args: str
) -> Iterator[WorkerProcess]:
    """A worker for the block's duration; killed afterwards if the test did not stop it."""
    process = WorkerProcess(command, env, log, *args)
    try:
        yield process
    finally:
        process.kill()
