"""The slice-jobs view: each job's state and figures.

The slicing worker lists the jobs it may claim from here (queued, or claimed by a worker
whose lease ran out); quotes, orders and the printer-load queue read the firm figures.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from projections.base import Cursor, EventRecord, Projection

_COLUMNS = (
    "job_id, model_sha256, fingerprint, printer, material, status, attempts,"
    " lease_until, result, failure, requested_position"
)

_SELECT = f"SELECT {_COLUMNS} FROM slice_jobs"  # noqa: S608 - constants only
_INSERT = (
    f"INSERT INTO slice_jobs ({_COLUMNS})"  # noqa: S608 - constants only
    " VALUES (?, ?, ?, ?, ?, 'queued', 0, NULL, NULL, NULL, ?) ON CONFLICT (job_id) DO NOTHING"
)


def _epoch(value: Any) -> float:
    """Seconds since the epoch of a stored datetime (ISO text or datetime)."""
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when.timestamp()


class SliceJobsProjection(Projection):
    """Folds SliceJob events into `slice_jobs`."""

    name = "slice_jobs"

    def create(self, cur: Cursor) -> None:
        """Create the table and the worker's index."""
        cur.execute(
            "CREATE TABLE IF NOT EXISTS slice_jobs ("
            " job_id TEXT PRIMARY KEY, model_sha256 TEXT NOT NULL, fingerprint TEXT NOT NULL,"
            " printer TEXT NOT NULL, material TEXT NOT NULL, status TEXT NOT NULL,"
            " attempts INTEGER NOT NULL, lease_until DOUBLE PRECISION, result TEXT,"
            " failure TEXT, requested_position BIGINT NOT NULL)"
        )
        cur.execute(
            "CREATE INDEX IF NOT EXISTS slice_jobs_open ON slice_jobs (status, requested_position)"
        )

    def drop(self, cur: Cursor) -> None:
        """Drop the table."""
        cur.execute("DROP TABLE IF EXISTS slice_jobs")

    def apply(self, cur: Cursor, events: Sequence[EventRecord]) -> None:
        """One statement per event (jobs are few: seconds of slicing each)."""
        for e in events:
            data = e.data
            if e.type == "Requested":
                cur.execute(
                    _INSERT,
                    (
                        e.originator_id,
                        data["model_sha256"],
                        data["profile_fingerprint"],
                        data["printer"],
                        data["material"],
                        e.position,
                    ),
                )
            elif e.type == "Claimed":
                cur.execute(
                    "UPDATE slice_jobs SET status = 'slicing', attempts = attempts + 1,"
                    " lease_until = ? WHERE job_id = ?",
                    (_epoch(data["at"]) + int(data["lease_seconds"]), e.originator_id),
                )
            elif e.type == "Sliced":
                cur.execute(
                    "UPDATE slice_jobs SET status = 'sliced', lease_until = NULL, result = ?"
                    " WHERE job_id = ?",
                    (json.dumps(data["result"]), e.originator_id),
                )
            elif e.type == "Failed":
                failure = {"reason": data["reason"], "message": data["message"]}
                cur.execute(
                    "UPDATE slice_jobs SET status = ?, lease_until = NULL, failure = ?"
                    " WHERE job_id = ?",
                    (
                        "failed" if data["final"] else "queued",
                        json.dumps(failure),
                        e.originator_id,
                    ),
                )

    def dump(self, cur: Cursor) -> Iterator[tuple[Any, ...]]:
        """Jobs by id."""
        cur.execute(f"{_SELECT} ORDER BY job_id")
        yield from (tuple(row) for row in cur.fetchall())


def claimable_jobs(cur: Cursor, now: float, limit: int = 10) -> list[str]:
    """Jobs a worker may claim now, oldest request first: queued, or a lapsed claim."""
    cur.execute(
        "SELECT job_id FROM slice_jobs WHERE status = 'queued'"
        " OR (status = 'slicing' AND lease_until < ?) ORDER BY requested_position LIMIT ?",
        (now, limit),
    )
    return [str(row[0]) for row in cur.fetchall()]


def job_view(cur: Cursor, job_id: str) -> dict[str, Any] | None:
    """One job as the view has it (None when it has not folded it yet)."""
    cur.execute(f"{_SELECT} WHERE job_id = ?", (job_id,))
    row = cur.fetchone()
    return None if row is None else _job(row)


def jobs_view(cur: Cursor, job_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """These jobs by id, as far as the view has folded them (unknown ones left out)."""
    if not job_ids:
        return {}
    marks = ", ".join("?" for _ in job_ids)
    cur.execute(f"{_SELECT} WHERE job_id IN ({marks})", tuple(job_ids))
    return {str(row[0]): _job(row) for row in cur.fetchall()}


def _job(row: Sequence[Any]) -> dict[str, Any]:
    job_id, sha, fingerprint, printer, material, status, attempts, _, result, failure, _ = row
    return {
        "job_id": str(job_id),
        "model_sha256": sha,
        "profile_fingerprint": fingerprint,
        "printer": printer,
        "material": material,
        "status": status,
        "attempts": int(attempts),
        "result": json.loads(result) if result else None,
        "failure": json.loads(failure) if failure else None,
    }
