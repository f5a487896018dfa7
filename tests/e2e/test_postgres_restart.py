"""Story: PostgreSQL restarts under load; the API says 503 meanwhile and heals by itself.

A served API on its own PostgreSQL server (not the session's: we stop this one) takes a
steady stream of checkouts and reads. PostgreSQL is stopped (`pg_ctl stop -m fast`): every
request answers quickly with 503 {"error": ...}, never a 500 or a hang. It is started
again: the same API process recovers without a restart (its pools reconnect), and every
order it accepted with a 201 is in the event store and in the read model.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import missing_component
from tests.support.http import CUBE_STL
from tests.support.postgres import PostgresServer, find_pg_bindir
from tests.support.served import served

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

DOWN_SECONDS = 10.0
CLIENTS = 3
MAX_ANSWER_SECONDS = 6.0  # a request while the database is away: answered, not hanging
MAX_RECOVERY_SECONDS = 15.0


@dataclass(frozen=True)
class Outcome:
    """One request of the load: when it started, how long it took, what it answered."""

    kind: str
    started: float
    seconds: float
    status: int  # 0: no HTTP answer at all
    body: object
    order_id: str | None = None


class Load:
    """Client threads placing orders and reading them back, over HTTP, until stopped."""

    def __init__(self, base_url: str, auth: dict[str, str]) -> None:
        self.base_url = base_url
        self.auth = auth
        self.outcomes: list[Outcome] = []
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self._run, name=f"load-{n}", daemon=True)
            for n in range(CLIENTS)
        ]

    def start(self) -> None:
        """Start every client."""
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        """Stop the clients and wait for their last requests."""
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def _run(self) -> None:
        deadline = time.monotonic() + 120  # bounded whatever happens
        with httpx.Client(base_url=self.base_url, timeout=30, headers=self.auth) as http:
            while not self.stop.is_set() and time.monotonic() < deadline:
                self._request(http, "place")
                self._request(http, "read")
                time.sleep(0.05)

    def _request(self, http: httpx.Client, kind: str) -> None:
        started = time.monotonic()
        try:
            if kind == "place":
                response = http.post(
                    "/api/checkout",
                    headers={"Idempotency-Key": uuid.uuid4().hex},
                    files={"model_file": ("cube.stl", CUBE_STL)},
                    data={"material": "PLA", "fulfillment": "pickup"},
                )
            else:
                response = http.get("/api/user/orders", params={"limit": 5})
            status, body = response.status_code, response.json()
        except (httpx.TransportError, ValueError) as error:
            status, body = 0, repr(error)
        order_id = body["order"]["id"] if status == 201 and isinstance(body, dict) else None
        self.outcomes.append(
            Outcome(kind, started, time.monotonic() - started, status, body, order_id)
        )

    def accepted(self) -> list[str]:
        """Ids of every order answered with 201."""
        return [o.order_id for o in self.outcomes if o.order_id]

    def wait_for_placements(self, count: int, after: float, timeout: float) -> float:
        """Seconds until `count` placements started after `after` were accepted."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = [o for o in self.outcomes if o.started >= after and o.status == 201]
            if len(done) >= count:
                return done[count - 1].started + done[count - 1].seconds - after
            time.sleep(0.1)
        raise AssertionError(f"no {count} accepted orders within {timeout} s: {self.outcomes[-5:]}")


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for this test alone: stopping it hurts nobody else."""
    bindir = find_pg_bindir()
    if bindir is None:
        missing_component("PostgreSQL binaries not found (apt-get install postgresql)")
    with PostgresServer(bindir) as server:
        yield server


def test_the_api_answers_503_while_postgres_is_down_and_recovers_without_a_restart(
    fabledger_command: list[str],
    served_env: dict[str, str],
    own_postgres: PostgresServer,
    tmp_path: Path,
) -> None:
    dsn = own_postgres.create_database("shop")
    env = {**served_env, "FABLEDGER_DATABASE_URL": dsn}
    with served(fabledger_command, env, tmp_path / "server.log") as http:
        signed_up = http.post(
            "/api/auth/register",
            json={"username": "maker", "email": "maker@example.com", "password": "pw for e2e!"},
        )
        assert signed_up.status_code == 201, signed_up.text
        load = Load(str(http.base_url), {"Authorization": f"Bearer {signed_up.json()['token']}"})
        load.start()
        try:
            load.wait_for_placements(3, after=0, timeout=30)

            went_down = time.monotonic()
            own_postgres.pause("fast")
            time.sleep(DOWN_SECONDS)
            own_postgres.resume()
            came_back = time.monotonic()

            recovery = load.wait_for_placements(3, after=came_back, timeout=MAX_RECOVERY_SECONDS)
            time.sleep(1)
        finally:
            load.join()

        # Requests started while the database was away: a quick 503, or (if they only reached
        # the database after it came back) a success. Never a 500, a dropped connection or a hang.
        during = [o for o in load.outcomes if went_down + 0.3 < o.started < came_back]
        refused = [o for o in during if o.status == 503]
        assert len(refused) >= 3, f"too few 503s while the database was down: {during}"
        assert all(isinstance(o.body, dict) and set(o.body) == {"error"} for o in refused)
        healed = [o for o in during if o.status != 503]
        assert all(o.status in (200, 201) and o.started + o.seconds > came_back for o in healed)
        assert max(o.seconds for o in during) < MAX_ANSWER_SECONDS, max(o.seconds for o in during)
        assert not [o for o in load.outcomes if o.status in (0, 500)]

        after = [o for o in load.outcomes if o.started > came_back + recovery]
        assert after and {o.status for o in after} <= {200, 201}, [
            o for o in after if o.status >= 300
        ][:3]

        # Nothing accepted was lost: in the event store and, once caught up, in the view.
        accepted = set(load.accepted())
        with psycopg.connect(dsn) as conn:
            stored = {
                str(row[0])
                for row in conn.execute(
                    "SELECT originator_id FROM ordering_events WHERE originator_version = 1"
                )
            }
        assert accepted <= stored
        head = max(int(o.body["position"]) for o in load.outcomes if o.order_id)  # type: ignore[index]
        listed = http.get(
            "/api/user/orders",
            params={"limit": 100},
            headers={**load.auth, "X-Min-Position": str(head)},
        )
        assert listed.status_code == 200, listed.text
        assert accepted <= {o["id"] for o in listed.json()["orders"]}
    print(
        f"accepted {len(accepted)} orders; {len(refused)} 503s while down;"
        f" recovered in {recovery:.1f} s"
    )
