"""Story: under concurrent traffic, the billing worker is killed while Stripe holds its first
report; a second run finishes the job. Replaying the events then gives exactly the live
counters and exactly what Stripe accepted, with no identifier billed twice.

Runs on SQLite files and on PostgreSQL; the worker is the real CLI in a subprocess, talking
to the rule-enforcing fake Stripe over HTTP on 127.0.0.1.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from application.billing import EVENT_NAMES, BillingReporter
from domain.meters import billing_period
from domain.plans import ANALYZE, QUICK_INFO
from infra.bootstrap import Container, bootstrap
from infra.settings import Settings
from tests.support.stripe_fakes import FakeStripe, MeterEvent, fake_stripe_server
from workers import cli
from workers.billing import ProjectedCounters

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "sk_test_fabledger_replay"
JWT = "test-secret-that-is-long-enough-for-hs256"
CLIENTS = 6


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return ""
    return str(request.getfixturevalue("postgres_db").dsn)


class HoldFirstReport:
    """Stripe stores the first report, then keeps its answer until the worker is dead."""

    def __init__(self) -> None:
        self.held: MeterEvent | None = None
        self.arrived = threading.Event()
        self.release = threading.Event()

    def __call__(self, event: MeterEvent) -> None:
        if self.held is None:
            self.held = event
            self.arrived.set()
            self.release.wait(30)


class Traffic:
    """Metered calls from several threads until stopped; counts what was accepted."""

    def __init__(self, container: Container, org_id: str, now: datetime) -> None:
        self.container, self.org_id, self.now = container, org_id, now
        self.stop = threading.Event()
        self.counts = {ANALYZE: 0, QUICK_INFO: 0}
        self.errors: list[BaseException] = []
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._client, args=(n,)) for n in range(CLIENTS)]

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(60)

    def _client(self, n: int) -> None:
        i = 0
        while not self.stop.is_set():
            product = QUICK_INFO if i % 3 == 0 else ANALYZE
            try:
                self.container.developer.record_usage(
                    org_id=self.org_id,
                    product=product,
                    key_id=f"key{n % 2}",
                    request_id=f"c{n}-{i}",
                    now=self.now,
                )
            except BaseException as error:
                self.errors.append(error)
                return
            with self._lock:
                self.counts[product] += 1
            i += 1


def fabledger(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """The real CLI in a subprocess (output and errors in one pipe)."""
    return subprocess.Popen(
        [sys.executable, "-m", "workers.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture
def stripe_holding_first_report() -> Iterator[tuple[str, FakeStripe, HoldFirstReport]]:
    hold = HoldFirstReport()
    with fake_stripe_server(on_accept=hold) as server:
        try:
            yield server.url, server.fake, hold
        finally:
            hold.release.set()


@pytest.mark.slow
def test_replay_equals_live_counters_and_stripe_after_a_worker_killed_mid_report(
    tmp_path: Path,
    database_url: str,
    stripe_holding_first_report: tuple[str, FakeStripe, HoldFirstReport],
) -> None:
    stripe_url, stripe_fake, hold = stripe_holding_first_report
    settings = Settings(
        data_dir=tmp_path,
        database_url=database_url,
        jwt_secret=JWT,
        stripe_api_key=SecretStr(API_KEY),
        stripe_api_base=stripe_url,
    )
    env = {
        **os.environ,
        "FABLEDGER_DATA_DIR": str(tmp_path),
        "FABLEDGER_DATABASE_URL": database_url,
        "FABLEDGER_JWT_SECRET": JWT,
        "FABLEDGER_STRIPE_API_KEY": API_KEY,
        "FABLEDGER_STRIPE_API_BASE": stripe_url,
    }
    now = datetime.now(UTC)
    period = billing_period(now)
    container = bootstrap(settings)
    try:
        dev = container.developer
        org_id = str(dev.create_org(name="Acme Robotics", owner_id="u-owner").id)
        dev.change_plan(org_id, "starter", actor_id="u-owner", email="billing@acme.test")

        worker = fabledger("billing", "report", "--interval", "0.05", env=env)
        with Traffic(container, org_id, now) as traffic:
            arrived = hold.arrived.wait(90)
            worker.send_signal(signal.SIGKILL)  # dies after Stripe stored the report
            output, _ = worker.communicate(timeout=30)
            assert arrived, f"the worker never reported:\n{output}"
            hold.release.set()
            traffic.stop.wait(0.5)  # calls keep coming after the crash
        assert traffic.errors == []
        assert worker.returncode == -signal.SIGKILL

        second = fabledger("billing", "report", "--once", env=env)
        output, _ = second.communicate(timeout=120)
        assert second.returncode == 0, output

        container.projections["usage"].catch_up()
        reporter = BillingReporter(dev, None, ProjectedCounters(container.views))
        result = reporter.replay(org_id, period)

        assert result.differences == []
        assert hold.held is not None and hold.held.identifier in stripe_fake.duplicates
        stripe_fake.units_by_identifier()  # raises if any identifier was billed twice
        for product in result.products:
            assert product.used == traffic.counts[product.product]
            assert product.live is not None and product.live.used == product.used
            assert (
                product.reported
                == product.overage
                == stripe_fake.total(EVENT_NAMES[product.product])
            )
        by_product = {p.product: p for p in result.products}
        assert by_product[ANALYZE].overage > 0  # analyze went well past its 100 units

        audit = fabledger("billing", "replay", "--org", org_id, "--period", period, env=env)
        output, _ = audit.communicate(timeout=120)
        assert audit.returncode == 0, output
        assert "no differences" in output
    finally:
        container.close()


# --- the CLI's other answers ------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """FABLEDGER_* for an in-process `main()` and for subprocesses, SQLite, no Stripe key."""
    values = {"FABLEDGER_DATA_DIR": str(tmp_path), "FABLEDGER_JWT_SECRET": JWT}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("FABLEDGER_STRIPE_API_KEY", raising=False)
    monkeypatch.delenv("FABLEDGER_DATABASE_URL", raising=False)
    return {**os.environ, **values}


def test_replay_exits_1_and_names_the_difference(
    cli_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with fake_stripe_server() as server:
        settings = Settings(
            data_dir=tmp_path,
            jwt_secret=JWT,
            stripe_api_key=SecretStr(API_KEY),
            stripe_api_base=server.url,
        )
        container = bootstrap(settings)
        try:
            org_id = str(container.developer.create_org(name="Acme", owner_id="u").id)
            container.developer.change_plan(org_id, "starter", actor_id="u", email=None)
            now = datetime.now(UTC)
            for i in range(103):
                container.developer.record_usage(
                    org_id=org_id, product=ANALYZE, key_id="k", request_id=str(i), now=now
                )
        finally:
            container.close()

    assert cli.main(["billing", "replay", "--org", org_id, "--period", billing_period(now)]) == 1
    out = capsys.readouterr().out
    assert "analyze: 3 overage units not reported" in out
    assert "analyze: live counter used=103 included=100 reported=0" in out


def test_replay_of_an_unknown_org_or_a_bad_period_is_refused(
    cli_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bootstrap(Settings(data_dir=tmp_path, jwt_secret=JWT)).close()  # a store, with no such org
    org = "00000000-0000-0000-0000-000000000000"
    assert cli.main(["billing", "replay", "--org", org, "--period", "2026-11"]) == 1
    assert "organization not found" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["billing", "replay", "--org", org, "--period", "2026-13"])
    assert "period must be YYYY-MM" in capsys.readouterr().err


def test_the_reporter_needs_a_stripe_key(
    cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["billing", "report", "--once"]) == 2
    assert "FABLEDGER_STRIPE_API_KEY" in capsys.readouterr().err


def test_the_worker_stops_cleanly_on_sigterm(cli_env: dict[str, str]) -> None:
    with fake_stripe_server() as server:
        env = {
            **cli_env,
            "FABLEDGER_STRIPE_API_KEY": API_KEY,
            "FABLEDGER_STRIPE_API_BASE": server.url,
        }
        worker = fabledger("billing", "report", "--interval", "30", env=env)
        lines: list[str] = []
        first_round = threading.Event()

        def read() -> None:
            assert worker.stdout is not None
            for line in worker.stdout:
                lines.append(line)
                if "billing_round" in line:
                    first_round.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            assert first_round.wait(60), "".join(lines)
            worker.send_signal(signal.SIGTERM)  # mid-wait: it must exit at once, cleanly
            assert worker.wait(timeout=20) == 0, "".join(lines)
        finally:
            if worker.poll() is None:
                worker.kill()
            reader.join(5)
