"""Flows run in one process at a time: advisory-lock leadership on PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg

from infra.bootstrap import bootstrap
from infra.leadership import AdvisoryLeadership, lock_key
from infra.settings import Settings
from projections.runner import STANDBY_SECONDS
from tests.support.postgres import PostgresDatabase


def test_one_process_leads_each_name_until_it_lets_go(postgres_db: PostgresDatabase) -> None:
    first, second = AdvisoryLeadership(postgres_db.dsn), AdvisoryLeadership(postgres_db.dsn)
    try:
        assert first.holds("payment_flow") and first.holds("payment_flow")
        assert not second.holds("payment_flow")
        assert second.holds("slice_flow") and not first.holds("slice_flow")
        first.close()
        assert second.holds("payment_flow")
    finally:
        first.close()
        second.close()


def test_a_lead_lost_with_its_session_is_taken_again(postgres_db: PostgresDatabase) -> None:
    """A restart or a terminated backend ends the session and its locks: the leader notices
    (its connection was spoken to) and takes the lead again, or another process does."""
    leader, other = AdvisoryLeadership(postgres_db.dsn), AdvisoryLeadership(postgres_db.dsn)
    try:
        assert leader.holds("refund_flow")
        with psycopg.connect(postgres_db.dsn, autocommit=True) as admin:
            (pid,) = admin.execute(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = %s",
                (lock_key("refund_flow") & 0xFFFFFFFF,),
            ).fetchone() or (None,)
            assert pid is not None
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
        assert other.holds("refund_flow")  # free once the session ended
        assert not leader.holds("refund_flow")  # reconnected, and the lead is taken
    finally:
        leader.close()
        other.close()


def test_two_api_processes_run_each_flow_once_and_take_over(
    postgres_db: PostgresDatabase, tmp_path: Path
) -> None:
    """Two containers on one database start their flows: each flow follows in one of them;
    when that process stops, the other takes its flows over after its standby pause."""
    settings = Settings(data_dir=tmp_path, database_url=postgres_db.dsn, slicer_in_process=False)
    first, second = bootstrap(settings), bootstrap(settings)
    try:
        first.start_flows()
        second.start_flows()
        assert first.leadership is not None and second.leadership is not None
        flows = set(first.flows)
        assert first.leadership.led() | second.leadership.led() == flows
        assert not first.leadership.led() & second.leadership.led()
        led_by_first = first.leadership.led()
        first.close()
        deadline = time.monotonic() + STANDBY_SECONDS + 3
        while second.leadership.led() != flows and time.monotonic() < deadline:
            time.sleep(0.1)
        assert second.leadership.led() == flows, led_by_first
    finally:
        second.close()
        first.close()
