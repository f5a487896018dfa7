"""The access tokens view: one row per live token, for the admins' list (never a hash)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from projections.base import Cursor, EventRecord, Projection

COLUMNS = (
    "id",
    "public_id",
    "name",
    "description",
    "scopes",
    "owner_id",
    "last_four",
    "created_at",
    "expires_at",
    "first_used_at",
    "revoked_at",
)
_INSERT = (
    f"INSERT INTO access_tokens_view ({', '.join(COLUMNS)})"  # noqa: S608
    f" VALUES ({', '.join('?' for _ in COLUMNS)})"
)
_UPDATE = (
    "UPDATE access_tokens_view SET first_used_at = COALESCE(?, first_used_at),"
    " revoked_at = COALESCE(?, revoked_at) WHERE id = ?"
)
_DELETE = "DELETE FROM access_tokens_view WHERE id = ?"
_CHANGES = {"FirstUsed": "first_used_at", "Revoked": "revoked_at"}


class AccessTokensProjection(Projection):
    """Folds the identity log's access-token events into `access_tokens_view`."""

    name = "access_tokens"

    def create(self, cur: Cursor) -> None:
        """Create the table."""
        cur.execute(
            "CREATE TABLE IF NOT EXISTS access_tokens_view ("
            " id TEXT PRIMARY KEY, public_id TEXT NOT NULL, name TEXT NOT NULL,"
            " description TEXT NOT NULL, scopes TEXT NOT NULL, owner_id TEXT NOT NULL,"
            " last_four TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT,"
            " first_used_at TEXT, revoked_at TEXT)"
        )

    def drop(self, cur: Cursor) -> None:
        """Drop the table."""
        cur.execute("DROP TABLE IF EXISTS access_tokens_view")

    def apply(self, cur: Cursor, events: Sequence[EventRecord]) -> None:
        """New tokens, changes and deletions, each as one batched statement."""
        inserts: dict[str, dict[str, Any]] = {}
        updates: dict[str, dict[str, Any]] = {}
        deletes: set[str] = set()
        for event in events:
            oid = event.originator_id
            # The identity log also holds users (Registered, RoleChanged...): by type and
            # shape, only token events match here.
            if event.type == "Issued" and "public_id" in event.data:
                inserts[oid] = _issued_row(event)
                deletes.discard(oid)
            elif event.type in _CHANGES and "at" in event.data:
                row = inserts.get(oid) or updates.setdefault(
                    oid, {"first_used_at": None, "revoked_at": None}
                )
                row[_CHANGES[event.type]] = _iso(event.data["at"])
            elif event.type == "Deleted":
                inserts.pop(oid, None)
                updates.pop(oid, None)
                deletes.add(oid)
        if deletes:
            cur.executemany(_DELETE, [(oid,) for oid in sorted(deletes)])
        if inserts:
            cur.executemany(_INSERT, [tuple(r[c] for c in COLUMNS) for r in inserts.values()])
        if updates:
            cur.executemany(
                _UPDATE, [(u["first_used_at"], u["revoked_at"], oid) for oid, u in updates.items()]
            )

    def dump(self, cur: Cursor) -> Iterator[tuple[Any, ...]]:
        """All rows by id."""
        cur.execute(f"SELECT {', '.join(COLUMNS)} FROM access_tokens_view ORDER BY id")  # noqa: S608
        yield from (tuple(row) for row in cur.fetchall())


def _iso(value: Any) -> str | None:
    """Event data decoded from the store holds datetimes; from Kafka, ISO text already."""
    if value is None:
        return None
    return value if isinstance(value, str) else value.isoformat()


def _issued_row(event: EventRecord) -> dict[str, Any]:
    data = event.data
    return {
        "id": event.originator_id,
        "public_id": data["public_id"],
        "name": data["name"],
        "description": data["description"],
        "scopes": ",".join(data["scopes"]),
        "owner_id": data["owner_id"],
        "last_four": data["last_four"],
        "created_at": event.timestamp.isoformat(),
        "expires_at": _iso(data["expires_at"]),
        "first_used_at": None,
        "revoked_at": None,
    }


def list_tokens(cur: Cursor) -> list[dict[str, Any]]:
    """Every live token, newest first (revoked ones too: kept for the audit)."""
    cur.execute(
        f"SELECT {', '.join(COLUMNS)} FROM access_tokens_view"  # noqa: S608
        " ORDER BY created_at DESC, id"
    )
    rows = []
    for row in cur.fetchall():
        item = dict(zip(COLUMNS, row, strict=True))
        item["scopes"] = [s for s in str(item["scopes"]).split(",") if s]
        rows.append(item)
    return rows
