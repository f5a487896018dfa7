"""Serving the real app as a subprocess: `fabledger serve` on a free port, always stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def run_cli(command: list[str], env: dict[str, str], cwd: Path, *args: str) -> str:
    """Run a `fabledger` subcommand to completion; its standard output."""
    done = subprocess.run(
        [*command, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


@contextmanager
def served(
    command: list[str], env: dict[str, str], log: Path, *serve_args: str
) -> Iterator[httpx.Client]:
    """`fabledger serve` on a free port until the block ends; always killed afterwards."""
    port = free_port()
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [*command, "serve", "--host", "127.0.0.1", "--port", str(port), *serve_args],
            env=env,
            cwd=log.parent,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its uvicorn workers are killed with it, never orphaned
        )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            wait_until_healthy(client, process, log)
            yield client
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"server ignored SIGTERM for {STOP_TIMEOUT} s") from None
        # uvicorn shuts down gracefully, then re-raises the signal it caught.
        assert process.returncode in (0, -signal.SIGTERM), log.read_text()[-3000:]
        assert "Application shutdown complete" in log.read_text()[-3000:]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the server and any worker it left behind
        process.wait(timeout=STOP_TIMEOUT)


def wait_until_healthy(client: httpx.Client, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if client.get("/api/health").json() == {"status": "ok"}:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"server not healthy after {START_TIMEOUT} s:\n{log.read_text()}")


def create_admin(
    command: list[str], env: dict[str, str], cwd: Path, email: str, password: str
) -> str:
    """`fabledger admin create` for the first admin; its standard output."""
    return run_cli(command, env, cwd, "admin", "create", "--email", email, "--password", password)
