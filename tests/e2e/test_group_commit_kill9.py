"""Story: an API process is killed with SIGKILL during a burst of grouped checkouts.

Sixteen clients check out at once against one served API process, so its saves commit
in groups (application/group_commit.py). Mid-burst the process (and its process group)
gets SIGKILL: requests in flight die unanswered. The API is started again on the same
store: every checkout that was answered 201 is in the event log and in the orders view,
no order stream is half-written (versions run 1, 2, ... without a hole) and the log's
positions are ordered; the restarted API takes orders again.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from uuid import UUID

import httpx
import psycopg
import pytest

from tests.support.http import CUBE_STL
from tests.support.served import free_port, served, wait_until_healthy

pytestmark = [pytest.mark.slow]

CUSTOMERS = 4
CLIENTS_PER_CUSTOMER = 4  # 16 clients in all
ACCEPTED_BEFORE_KILL = 40


@contextmanager
def killable(command: list[str], env: dict[str, str], log: Path) -> Iterator[tuple[str, int]]:
    """`fabledger serve` in its own process group: (base URL, group id); always killed."""
    port = free_port()
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [*command, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=log.parent,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the kill takes its mesh workers too
        )
    try:
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url, timeout=10) as client:
            wait_until_healthy(client, process, log)
        yield url, process.pid
    finally:
        with suppress(ProcessLookupError):  # already killed by the story
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def customers(url: str) -> list[tuple[dict[str, str], str]]:
    """Signed-in customers, each with an upload session to check out from."""
    made = []
    with httpx.Client(base_url=url, timeout=30) as http:
        for n in range(CUSTOMERS):
            signed_up = http.post(
                "/api/auth/register",
                json={
                    "username": f"burst{n}",
                    "email": f"burst{n}@example.com",
                    "password": "burst pw 123",
                },
            )
            assert signed_up.status_code == 201, signed_up.text
            auth = {"Authorization": f"Bearer {signed_up.json()['token']}"}
            uploaded = http.post(
                "/api/upload-for-cart", headers=auth, files={"model_file": ("cube.stl", CUBE_STL)}
            )
            assert uploaded.status_code == 201, uploaded.text
            made.append((auth, uploaded.json()["session_id"]))
    return made


class Burst:
    """Client threads checking out as fast as they can until the server dies."""

    def __init__(self, url: str, who: list[tuple[dict[str, str], str]]) -> None:
        self.url = url
        self.accepted: list[tuple[str, int, dict[str, str]]] = []  # (order id, position, auth)
        self.answers: list[int] = []
        self.lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self._run, args=(auth, session), daemon=True)
            for auth, session in who
            for _ in range(CLIENTS_PER_CUSTOMER)
        ]

    def _run(self, auth: dict[str, str], session: str) -> None:
        form = {"session_id": session, "material": "PLA", "fulfillment": "pickup"}
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=self.url, headers=auth, timeout=30) as http:
            while time.monotonic() < deadline:
                try:
                    answer = http.post("/api/checkout", data=form)
                except httpx.TransportError:
                    return  # the server is gone: this request was never acknowledged
                with self.lock:
                    self.answers.append(answer.status_code)
                    if answer.status_code == 201:
                        body = answer.json()
                        self.accepted.append((body["order"]["id"], int(body["position"]), auth))


def stored_streams(env: dict[str, str]) -> dict[str, list[int]]:
    """Every stream of the ordering log: its versions, in position order."""
    dsn = env.get("FABLEDGER_DATABASE_URL", "")
    query = "SELECT originator_id, originator_version FROM {} ORDER BY {}"
    if dsn:
        with psycopg.connect(dsn) as conn:
            rows = conn.execute(query.format("ordering_events", "notification_id")).fetchall()
    else:
        path = Path(env["FABLEDGER_DATA_DIR"]) / "ordering.db"
        with sqlite3.connect(path) as conn:
            rows = conn.execute(query.format("stored_events", "rowid")).fetchall()
    streams: dict[str, list[int]] = {}
    for stream, version in rows:
        streams.setdefault(str(UUID(str(stream))), []).append(int(version))
    return streams


@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_kill_9_during_grouped_checkouts_loses_nothing_acknowledged(
    store: str,
    request: pytest.FixtureRequest,
    fabledger_command: list[str],
    served_env: dict[str, str],
    tmp_path: Path,
) -> None:
    env = dict(served_env)
    if store == "postgres":
        env["FABLEDGER_DATABASE_URL"] = request.getfixturevalue("postgres_db").dsn
    log = tmp_path / "server.log"
    with killable(fabledger_command, env, log) as (url, group):
        burst = Burst(url, customers(url))
        for thread in burst.threads:
            thread.start()
        deadline = time.monotonic() + 60
        while len(burst.accepted) < ACCEPTED_BEFORE_KILL and time.monotonic() < deadline:
            time.sleep(0.01)
        os.killpg(group, signal.SIGKILL)
        for thread in burst.threads:
            thread.join(timeout=30)
    accepted = {order_id: (position, auth) for order_id, position, auth in burst.accepted}
    assert len(accepted) >= ACCEPTED_BEFORE_KILL, (burst.answers[-10:], log.read_text()[-3000:])
    assert set(burst.answers) <= {201}, burst.answers  # nothing refused before the kill

    streams = stored_streams(env)
    assert set(accepted) <= set(streams)  # every acknowledged checkout is in the log
    for versions in streams.values():  # no stream half-written
        assert versions == list(range(1, len(versions) + 1))

    with served(fabledger_command, env, log) as http:
        head = max(position for position, _ in accepted.values())
        for who in {tuple(a.items()) for _, a in accepted.values()}:
            listed = http.get(
                "/api/user/orders",
                params={"limit": 100},
                headers={**dict(who), "X-Min-Position": str(head)},
            )
            assert listed.status_code == 200, listed.text
            mine = {o for o, (_, a) in accepted.items() if tuple(a.items()) == who}
            assert mine <= {o["id"] for o in listed.json()["orders"]}
        auth, session = customers_again(http, accepted)
        again = http.post(
            "/api/checkout",
            headers=auth,
            data={"session_id": session, "material": "PLA", "fulfillment": "pickup"},
        )
        assert again.status_code == 201, again.text
        assert int(again.json()["position"]) > head
    print(f"{len(accepted)} acknowledged of {len(burst.answers)} answered; all in the log")


def customers_again(
    http: httpx.Client, accepted: dict[str, tuple[int, dict[str, str]]]
) -> tuple[dict[str, str], str]:
    """One of the customers, with a fresh upload session on the restarted server."""
    auth = next(iter(accepted.values()))[1]
    uploaded = http.post(
        "/api/upload-for-cart", headers=auth, files={"model_file": ("cube.stl", CUBE_STL)}
    )
    assert uploaded.status_code == 201, uploaded.text
    return auth, uploaded.json()["session_id"]
