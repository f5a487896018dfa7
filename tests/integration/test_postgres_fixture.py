"""The PostgreSQL fixtures give each test a real server and its own database."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from tests.support.postgres import PostgresDatabase, PostgresServer


def test_a_database_stores_and_returns_rows(postgres_db: PostgresDatabase) -> None:
    with psycopg.connect(postgres_db.dsn) as conn:
        conn.execute("CREATE TABLE orders (id serial PRIMARY KEY, status text NOT NULL)")
        conn.execute("INSERT INTO orders (status) VALUES (%s), (%s)", ("pending", "confirmed"))
        rows = conn.execute("SELECT id, status FROM orders ORDER BY id").fetchall()
        server_version = conn.info.server_version

    assert rows == [(1, "pending"), (2, "confirmed")]
    assert server_version >= 130000  # DROP DATABASE ... WITH (FORCE) needs 13+
    assert postgres_db.dsn.endswith(f"/{postgres_db.dbname}")
    assert (postgres_db.host, postgres_db.user) == ("127.0.0.1", "fabledger")


def test_each_test_gets_a_fresh_empty_database(postgres_db: PostgresDatabase) -> None:
    with psycopg.connect(postgres_db.dsn) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
    assert tables == (0,)


def test_two_databases_do_not_see_each_other(
    postgres_server: PostgresServer, postgres_db: PostgresDatabase
) -> None:
    other = f"other_{uuid.uuid4().hex}"
    other_dsn = postgres_server.create_database(other)
    try:
        with psycopg.connect(postgres_db.dsn) as conn:
            conn.execute("CREATE TABLE only_here (x int)")
            conn.execute("INSERT INTO only_here VALUES (1)")
        with psycopg.connect(other_dsn) as conn, pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("SELECT x FROM only_here")
    finally:
        postgres_server.drop_database(other)


def test_a_database_is_dropped_even_with_connections_left_open(
    postgres_server: PostgresServer,
) -> None:
    name = f"leaky_{uuid.uuid4().hex}"
    leaked = psycopg.connect(postgres_server.create_database(name))  # e.g. a pool not closed

    postgres_server.drop_database(name)

    with psycopg.connect(postgres_server.dsn()) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    assert found is None
    with leaked, pytest.raises(psycopg.OperationalError):  # the server ended its session
        leaked.execute("SELECT 1")


def test_eventsourcing_env_points_at_the_database(postgres_db: PostgresDatabase) -> None:
    env = postgres_db.eventsourcing_env()
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert (env["POSTGRES_DBNAME"], env["POSTGRES_PORT"]) == (
        postgres_db.dbname,
        str(postgres_db.port),
    )


def test_tests_using_the_fixtures_are_marked_postgres(
    request: pytest.FixtureRequest, postgres_server: PostgresServer
) -> None:
    assert request.node.get_closest_marker("postgres") is not None


def test_other_tests_are_not_marked_postgres(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("postgres") is None
