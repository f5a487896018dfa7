"""The users view: one row per account, for the admins' user list (never a password hash)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from projections.base import Cursor, EventRecord, Projection, ViewDatabase
from projections.orders import _escape_like

COLUMNS = (
    "id",
    "email",
    "username",
    "role",
    "is_active",
    "email_verified",
    "created_at",
    "updated_at",
    "search_text",
)
LIST_COLUMNS = tuple(c for c in COLUMNS if c != "search_text")
MAX_PAGE_SIZE = 100
MAX_PAGE = 100_000

_INSERT = (
    f"INSERT INTO users_view ({', '.join(COLUMNS)})"  # noqa: S608
    f" VALUES ({', '.join('?' for _ in COLUMNS)})"
)
_UPDATE = (
    "UPDATE users_view SET role = COALESCE(?, role), is_active = COALESCE(?, is_active),"
    " email_verified = COALESCE(?, email_verified), username = COALESCE(?, username),"
    " email = COALESCE(?, email),"  # right-hand sides read the old row: hence the repeats
    " search_text = LOWER(COALESCE(?, email) || ' ' || COALESCE(?, username)), updated_at = ?"
    " WHERE id = ?"
)
_CHANGEABLE = (
    "role",
    "is_active",
    "email_verified",
    "username",
    "email",
    "email",
    "username",
    "updated_at",
)


class UsersProjection(Projection):
    """Folds the identity log's user events into `users_view`."""

    name = "users"

    def create(self, cur: Cursor) -> None:
        """Create the table and the index the role filter uses."""
        cur.execute(
            "CREATE TABLE IF NOT EXISTS users_view ("
            " id TEXT PRIMARY KEY, email TEXT NOT NULL, username TEXT NOT NULL,"
            " role TEXT NOT NULL, is_active BOOLEAN NOT NULL, email_verified BOOLEAN NOT NULL,"
            " created_at TEXT NOT NULL, updated_at TEXT NOT NULL, search_text TEXT NOT NULL)"
        )
        cur.execute("CREATE INDEX IF NOT EXISTS users_view_role ON users_view (role, created_at)")
        cur.execute("CREATE INDEX IF NOT EXISTS users_view_created ON users_view (created_at)")

    def drop(self, cur: Cursor) -> None:
        """Drop the table (its indexes go with it)."""
        cur.execute("DROP TABLE IF EXISTS users_view")

    def apply(self, cur: Cursor, events: Sequence[EventRecord]) -> None:
        """New users become one INSERT batch; changes to older ones one UPDATE batch."""
        inserts: dict[str, dict[str, Any]] = {}
        updates: dict[str, dict[str, Any]] = {}
        for event in events:
            if event.type == "Registered":
                inserts[event.originator_id] = _registered_row(event)
                continue
            change = _change_of(event)
            if change is None:
                continue
            row = inserts.get(event.originator_id)
            if row is None:
                row = updates.setdefault(
                    event.originator_id,
                    dict.fromkeys(("role", "is_active", "email_verified", "username", "email")),
                )
            row.update(change)
            if "search_text" in row and ("username" in change or "email" in change):
                row["search_text"] = _search_text(row["email"], row["username"])  # a new row
        if inserts:
            cur.executemany(_INSERT, [tuple(r[c] for c in COLUMNS) for r in inserts.values()])
        if updates:
            cur.executemany(
                _UPDATE, [(*(u[c] for c in _CHANGEABLE), uid) for uid, u in updates.items()]
            )

    def dump(self, cur: Cursor) -> Iterator[tuple[Any, ...]]:
        """All rows by id."""
        cur.execute(f"SELECT {', '.join(COLUMNS)} FROM users_view ORDER BY id")  # noqa: S608
        yield from (tuple(row) for row in cur.fetchall())


def _registered_row(event: EventRecord) -> dict[str, Any]:
    data = event.data
    at = event.timestamp.isoformat()
    return {
        "id": event.originator_id,
        "email": data["email"],
        "username": data["username"],
        "role": data["role"],
        "is_active": True,
        "email_verified": False,
        "created_at": at,
        "updated_at": at,
        "search_text": _search_text(data["email"], data["username"]),
    }


def _change_of(event: EventRecord) -> dict[str, Any] | None:
    """The columns a user event changes; None for events the view does not show."""
    change: dict[str, Any] = {"updated_at": event.timestamp.isoformat()}
    if event.type == "RoleChanged":
        change["role"] = event.data["role"]
    elif event.type == "Deactivated":
        change["is_active"] = False
    elif event.type == "Reactivated":
        change["is_active"] = True
    elif event.type == "EmailVerified":
        change["email_verified"] = True
    elif event.type == "ProfileUpdated":
        change["username"] = event.data["username"]
    elif event.type == "EmailChanged":
        change["email"] = event.data["email"]
        change["email_verified"] = True
    else:  # passwords, sessions and the admin guard's events (another stream) show nothing
        return None
    return change


def _search_text(email: str, username: str) -> str:
    return f"{email} {username}".lower()


@dataclass(frozen=True)
class UserQuery:
    """A page of the user list with optional filters."""

    page: int = 1
    limit: int = 20
    q: str | None = None
    role: str | None = None


def list_users(cur: Cursor, query: UserQuery) -> tuple[list[dict[str, Any]], int]:
    """One page of users (newest first) and the total that match the filters."""
    where, params = [], []
    if query.role:
        where.append("role = ?")
        params.append(query.role)
    if query.q:
        where.append("search_text LIKE ? ESCAPE '\\'")
        params.append(f"%{_escape_like(query.q.lower())}%")
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    cur.execute(f"SELECT COUNT(*) FROM users_view{clause}", params)  # noqa: S608
    total = int(cur.fetchone()[0])
    cur.execute(
        f"SELECT {', '.join(LIST_COLUMNS)} FROM users_view{clause}"  # noqa: S608
        " ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
        [*params, query.limit, (query.page - 1) * query.limit],
    )
    return [_as_dict(row) for row in cur.fetchall()], total


def _as_dict(row: Sequence[Any]) -> dict[str, Any]:
    item = dict(zip(LIST_COLUMNS, row, strict=True))
    item["is_active"] = bool(item["is_active"])
    item["email_verified"] = bool(item["email_verified"])
    return item


class UsersView:
    """What the staff use cases read from the users view: the admins it lists."""

    def __init__(self, views: ViewDatabase) -> None:
        self.views = views

    def admin_ids(self) -> list[str]:
        """Ids of the users the view lists as admins (may trail the log by a moment)."""
        with self.views.reading() as cur:
            cur.execute("SELECT id FROM users_view WHERE role = 'admin' ORDER BY id")
            return [str(row[0]) for row in cur.fetchall()]
