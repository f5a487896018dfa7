"""Story: a new user copies the README's "A first order with curl" into bash, and it works.

The block under the `<!-- walkthrough` marker runs as written (with `set -euo pipefail`)
against a real `fabledger serve` on a fresh data dir, from the repo root so that
`examples/bracket.stl` and `.venv/bin/fabledger` resolve. Then an auditor checks on the
server that the walkthrough's order really reached the customer's door.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import missing_component
from tests.support.served import create_admin, served

REPO = Path(__file__).resolve().parents[2]
MARKER = "<!-- walkthrough"
README_CLI = ".venv/bin/fabledger"
AUDITOR = ("auditor@example.com", "auditor pass phrase")


def walkthrough(readme: str) -> str:
    """The sh block that follows the walkthrough marker."""
    assert readme.count(MARKER) == 1, "exactly one walkthrough marker in README.md"
    block = re.search(r"```sh\n(.*?)```", readme[readme.index(MARKER) :], re.DOTALL)
    assert block is not None, "a ```sh block after the walkthrough marker"
    return block.group(1)


def require_tools() -> None:
    """The walkthrough uses curl and jq, as the README says."""
    for tool in ("curl", "jq"):
        if shutil.which(tool) is None:
            missing_component(f"{tool} not found (apt-get install {tool})")


def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, (response.request.url, response.text)
    return response.json()


def test_the_readme_walkthrough_runs_as_written_and_delivers_the_order(
    fabledger_command: list[str], served_env: dict[str, str], tmp_path: Path
) -> None:
    require_tools()
    script = walkthrough((REPO / "README.md").read_text())
    if not (REPO / README_CLI).is_file():  # tests run from another environment's Python
        script = script.replace(README_CLI, shlex.join(fabledger_command))
    (tmp_path / "walkthrough.sh").write_text("set -euo pipefail\n" + script)

    # As `make run` serves it: the seed's rate limits on (the walkthrough stays within them).
    limited = {**served_env, "FABLEDGER_RATE_LIMITS_ENABLED": "true"}
    with served(fabledger_command, limited, tmp_path / "server.log") as http:
        run = subprocess.run(
            ["bash", str(tmp_path / "walkthrough.sh")],
            cwd=REPO,
            env={**served_env, "BASE": str(http.base_url).rstrip("/")},
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"

        create_admin(fabledger_command, served_env, tmp_path, *AUDITOR)
        login = {"email": AUDITOR[0], "password": AUDITOR[1]}
        token = _ok(http.post("/api/auth/login", json=login))["token"]
        auditor = {"Authorization": f"Bearer {token}"}
        listed = _ok(http.get("/api/admin/orders", headers=auditor))
        assert listed["total"] == 1
        order_id = listed["orders"][0]["id"]
        order = _ok(http.get(f"/api/admin/orders/{order_id}", headers=auditor))
        history = _ok(http.get(f"/api/admin/orders/{order_id}/history", headers=auditor))
        as_of_2 = _ok(http.get(f"/api/admin/orders/{order_id}/history?as_of=2", headers=auditor))

    assert (order["status"], order["is_paid"]) == ("delivered", True)
    assert order["model"]["filename"] == "bracket.stl"
    assert order["carrier_tracking"]["tracking_number"] == "DL-99887766"
    statuses = [e["data"]["to_status"] for e in history["events"] if e["type"] == "StatusChanged"]
    assert statuses == ["confirmed", "printing", "post_processing", "shipped", "delivered"]
    assert [e["type"] for e in as_of_2["events"]] == ["Placed", "PaymentConfirmed"]
    # What the reader sees last: the public tracking page of a delivered order.
    assert '"status": "delivered"' in run.stdout
