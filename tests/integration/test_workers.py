"""Story: workers run until told to stop, outlive database outages, and resume where they were.

The runtime is driven in this process (signals go to the main thread); the projections
worker runs as a real `fabledger worker projections` process against a PostgreSQL server
of its own, which the test stops and starts again under it.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from eventsourcing.persistence import OperationalError
from structlog.testing import capture_logs

from application.checkout import CheckoutResult
from infra.bootstrap import Container
from infra.settings import Settings
from tests.conftest import missing_component
from tests.support.factories import container_for, pickup_request
from tests.support.postgres import PostgresServer, find_pg_bindir
from tests.support.worker_process import worker
from workers.projections import catch_up_until_stopped
from workers.runtime import Pace, run_steps, run_worker

FAST = Pace(interval=0.01, first_backoff=0.01, max_backoff=0.04)
FABLEDGER = [str(Path(sys.executable).with_name("fabledger"))]


def test_backoff_doubles_up_to_its_cap() -> None:
    pace = Pace(first_backoff=0.5, max_backoff=3)
    assert [pace.backoff(n) for n in range(1, 6)] == [0.5, 1, 2, 3, 3]


def test_a_failing_step_is_logged_and_retried_until_it_works() -> None:
    stop = threading.Event()
    calls: list[int] = []

    def step() -> int:
        calls.append(1)
        if len(calls) <= 3:
            raise ConnectionError("database is away")
        stop.set()
        return 0

    with capture_logs() as logs:
        run_steps("test", step, stop, FAST)
    assert len(calls) == 4
    failed = [log for log in logs if log["event"] == "worker_step_failed"]
    assert [log["failures"] for log in failed] == [1, 2, 3]
    assert failed[0]["error"] == "database is away"
    assert [log for log in logs if log["event"] == "worker_recovered"]


def test_busy_steps_run_back_to_back_and_idle_ones_wait() -> None:
    stop = threading.Event()
    started = time.monotonic()
    work = [5, 5, 5, 0]

    def step() -> int:
        if not work:
            stop.set()
            return 0
        return work.pop(0)

    run_steps("test", step, stop, Pace(interval=0.3))
    assert 0.3 <= time.monotonic() - started < 1.0  # one idle wait, no waits while busy


@pytest.fixture(autouse=True)
def _keep_log_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """run_worker configures logging for its process; here capture_logs must stay in place."""
    monkeypatch.setattr("workers.runtime.configure_logging", lambda **_: None)


def test_sigterm_lets_the_current_step_finish_then_the_worker_exits_0() -> None:
    finished: list[int] = []
    closed: list[bool] = []

    def step_of(parts: str, stop: threading.Event) -> object:
        def step() -> int:
            os.kill(os.getpid(), signal.SIGTERM)  # arrives in the middle of the step
            time.sleep(0.05)
            finished.append(len(finished))
            return 1

        return step

    previous = signal.getsignal(signal.SIGTERM)
    with capture_logs() as logs:
        code = run_worker(
            "test",
            _settings(),
            lambda: "parts",
            step_of,  # type: ignore[arg-type]
            lambda parts: closed.append(True),
            FAST,
        )
    assert code == 0 and finished == [0] and closed == [True]
    assert [log["event"] for log in logs] == ["worker_started", "worker_stopped"]
    assert logs[-1]["signals"] == ["SIGTERM"]
    assert signal.getsignal(signal.SIGTERM) == previous  # handlers are given back


def test_a_worker_that_cannot_start_keeps_trying_until_stopped() -> None:
    attempts: list[int] = []

    def build() -> str:
        attempts.append(1)
        if len(attempts) == 3:
            os.kill(os.getpid(), signal.SIGTERM)
        raise ConnectionError("database is away")

    with capture_logs() as logs:
        code = run_worker("test", _settings(), build, lambda p, s: lambda: 0, lambda p: None, FAST)
    assert code == 0 and len(attempts) == 3
    assert [log["event"] for log in logs].count("worker_start_failed") == 3


def test_catching_up_stops_between_batches(tmp_path: Path) -> None:
    container = container_for(tmp_path)
    try:
        for n in range(5):
            container.checkout.place(pickup_request(f"customer-{n}"))
        runner = container.projections["orders"]
        runner.batch_size = 2
        stop = threading.Event()
        stop.set()  # asked to stop before the first batch committed
        assert catch_up_until_stopped(runner, stop) == 2
        assert runner.position() == 2
        assert catch_up_until_stopped(runner, threading.Event()) == 3
    finally:
        container.close()


# --- the projections worker process against a PostgreSQL that goes away -------------------


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for this test alone (it is stopped under the worker)."""
    bindir = find_pg_bindir()
    if bindir is None:
        missing_component("PostgreSQL binaries not found (apt-get install postgresql)")
    with PostgresServer(bindir) as server:
        yield server


def _positions(container: Container) -> dict[str, int]:
    return {name: runner.position() for name, runner in container.projections.items()}


def _wait_until(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def _retried(place: Callable[[], CheckoutResult], timeout: float = 20.0) -> int:
    """Place once the database answers again (this process's pools reconnect too)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return place().position
        except OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.slow
def test_the_projections_worker_outlives_a_database_outage_and_resumes_after_sigterm(
    own_postgres: PostgresServer, tmp_path: Path
) -> None:
    dsn = own_postgres.create_database("shop")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "FABLEDGER_DATA_DIR": str(tmp_path / "worker-data"),
        "FABLEDGER_DATABASE_URL": dsn,
        "FABLEDGER_JWT_SECRET": "x" * 40,
        "PYTHONUNBUFFERED": "1",
    }
    container = container_for(tmp_path / "data", dsn)
    log = tmp_path / "worker.log"
    try:
        with worker(FABLEDGER, env, log, "projections", "--interval", "0.2") as process:
            process.wait_for_log("worker_started")
            first = container.checkout.place(pickup_request("customer-1")).position
            _wait_until(lambda: _positions(container)["orders"] >= first)

            own_postgres.pause("fast")
            process.wait_for_log("worker_step_failed")
            time.sleep(2)
            assert process.process.poll() is None, process.tail()  # still alive
            own_postgres.resume()

            second = _retried(lambda: container.checkout.place(pickup_request("customer-2")))
            _wait_until(lambda: _positions(container)["orders"] >= second)
            process.wait_for_log("worker_recovered")
            code, seconds = process.terminate()
            assert code == 0 and seconds < 10, process.tail()

        third = container.checkout.place(pickup_request("customer-3")).position
        with worker(FABLEDGER, env, tmp_path / "again.log", "projections") as again:
            _wait_until(lambda: _positions(container)["stats"] >= third)
            assert again.terminate()[0] == 0
        assert _positions(container)["orders"] == third
    finally:
        container.close()


def _settings() -> Settings:
    return Settings(data_dir=Path("/nonexistent-never-created"))


def test_the_relay_offers_every_application_of_the_container(tmp_path: Path) -> None:
    """A new bounded context's log reaches Kafka by existing: the CLI choices name them all."""
    from workers.relay import APPS

    container = container_for(tmp_path)
    try:
        assert set(APPS) == set(container.applications())
    finally:
        container.close()
