"""The catalog view: one row per live catalog model, for the storefront and staff lists.

Filters and sorts have indexes (status with category, newest, likes and price). `q` is a
real text search, never a LIKE scan: on SQLite a contentless FTS5 table over `search_text`
and the row's category and status (kept in step by triggers, in the same transaction as
the row), on PostgreSQL a generated tsvector column with a GIN index. Both match every
word of `q` as a prefix.

The catalog's log also holds materials, categories and slug claims: this view folds only
the CatalogModel events (their names start with "Model"), and ModelLike's Liked/Unliked
into `likes_total` (a signed delta per model, projections.model_media.like_deltas); the
row writes never touch that column, so the two folds cannot undo each other.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from domain.catalog_models import status_of
from projections.base import Cursor, EventRecord, Projection
from projections.model_media import like_deltas

COLUMNS = (
    "id",
    "name",
    "description",
    "category_id",
    "material",
    "color",
    "price_paise",
    "price_order",
    "notes",
    "owner_id",
    "owner_role",
    "filename",
    "sha256",
    "size_bytes",
    "mesh",
    "is_approved",
    "is_public",
    "status",
    "seo_title",
    "seo_description",
    "slug",
    "image",
    "likes_total",
    "search_text",
    "created_at",
    "updated_at",
    "version",
)
LIST_COLUMNS = tuple(c for c in COLUMNS if c not in ("price_order", "search_text"))
_WRITTEN = tuple(c for c in COLUMNS if c not in ("id", "likes_total"))
# Models the cost engine prices have no list price: the price sort puts them after the rest.
UNPRICED_ORDER = 2**62
SORTS = {
    "newest": "created_at DESC, id DESC",
    "popular": "likes_total DESC, created_at DESC, id DESC",
    "price": "price_order ASC, created_at DESC, id DESC",
}
LOAD_CHUNK = 500

_INSERT = (
    f"INSERT INTO catalog_view ({', '.join(COLUMNS)})"  # noqa: S608
    f" VALUES ({', '.join('?' for _ in COLUMNS)})"
)
_UPDATE = f"UPDATE catalog_view SET {', '.join(f'{c} = ?' for c in _WRITTEN)} WHERE id = ?"  # noqa: S608
_DELETE = "DELETE FROM catalog_view WHERE id = ?"
_LIKES = "UPDATE catalog_view SET likes_total = likes_total + ? WHERE id = ?"

_COLUMN_TYPES = (
    " name TEXT NOT NULL, description TEXT NOT NULL, category_id TEXT NOT NULL,"
    " material TEXT NOT NULL, color TEXT NOT NULL, price_paise BIGINT,"
    " price_order BIGINT NOT NULL, notes TEXT NOT NULL, owner_id TEXT NOT NULL,"
    " owner_role TEXT NOT NULL, filename TEXT NOT NULL, sha256 TEXT NOT NULL,"
    " size_bytes BIGINT NOT NULL, mesh TEXT NOT NULL, is_approved BOOLEAN NOT NULL,"
    " is_public BOOLEAN NOT NULL, status TEXT NOT NULL, seo_title TEXT NOT NULL,"
    " seo_description TEXT NOT NULL, slug TEXT, image TEXT,"
    " likes_total BIGINT NOT NULL DEFAULT 0,"
    " search_text TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
    " version INTEGER NOT NULL"
)
# The lists' filters are status (the storefront: approved) and category; each sort has an
# index that starts with them, so a page is read in order instead of sorted.
_INDEXES = {
    "catalog_view_newest": "status, created_at, id",
    "catalog_view_category_newest": "status, category_id, created_at, id",
    "catalog_view_popular": "status, likes_total, created_at, id",
    "catalog_view_category_popular": "status, category_id, likes_total, created_at, id",
    "catalog_view_price": "status, price_order, created_at DESC, id DESC",
    "catalog_view_category_price": "status, category_id, price_order, created_at DESC, id DESC",
    "catalog_view_category": "category_id",
    "catalog_view_slug": "slug",
}
# SQLite: a contentless FTS5 table (rowid = seq) over the search text and the row's facets:
# its category and status as tokens (k<category hex>, s<status>), so that a search within a
# category is one intersection inside the index, not a lookup of every row the words match.
# detail=column: no positions (no phrase search is offered), a smaller and faster index.
_SQLITE_FTS = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS catalog_fts USING fts5(search_text, facets,"
    " content='', detail=column, prefix='2 3', tokenize='unicode61 remove_diacritics 0')"
)
_FTS_ADD = (
    "INSERT INTO catalog_fts (rowid, search_text, facets) VALUES (new.seq, new.search_text,"
    " 'k' || replace(new.category_id, '-', '') || ' s' || new.status);"
)
_FTS_REMOVE = (
    "INSERT INTO catalog_fts (catalog_fts, rowid, search_text, facets)"
    " VALUES ('delete', old.seq, old.search_text,"
    " 'k' || replace(old.category_id, '-', '') || ' s' || old.status);"
)
_SQLITE_TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS catalog_view_fts_insert AFTER INSERT ON catalog_view"
    f" BEGIN {_FTS_ADD} END",
    "CREATE TRIGGER IF NOT EXISTS catalog_view_fts_delete AFTER DELETE ON catalog_view"
    f" BEGIN {_FTS_REMOVE} END",
    "CREATE TRIGGER IF NOT EXISTS catalog_view_fts_update"
    " AFTER UPDATE OF search_text, category_id, status ON catalog_view"
    f" BEGIN {_FTS_REMOVE} {_FTS_ADD} END",
)


def is_postgres(cur: Cursor) -> bool:
    """Whether the cursor is PostgreSQL's (else SQLite's)."""
    return getattr(cur, "dialect", "") == "postgres"


class CatalogProjection(Projection):
    """Folds the catalog log's CatalogModel events into `catalog_view` (and its search)."""

    name = "catalog"

    def create(self, cur: Cursor) -> None:
        """Create the table, its indexes and the full-text search of the dialect."""
        if is_postgres(cur):
            cur.execute(
                "CREATE TABLE IF NOT EXISTS catalog_view (id TEXT PRIMARY KEY,"
                f"{_COLUMN_TYPES}, search tsvector GENERATED ALWAYS AS"
                " (to_tsvector('simple', search_text)) STORED)"
            )
            cur.execute(
                "CREATE INDEX IF NOT EXISTS catalog_view_search ON catalog_view USING GIN (search)"
            )
        else:
            # seq: a stable integer rowid for the FTS5 table (VACUUM may renumber implicit ones).
            cur.execute(
                "CREATE TABLE IF NOT EXISTS catalog_view (seq INTEGER PRIMARY KEY,"
                f" id TEXT NOT NULL UNIQUE,{_COLUMN_TYPES})"
            )
            cur.execute(_SQLITE_FTS)
            for trigger in _SQLITE_TRIGGERS:
                cur.execute(trigger)
        for name, columns in _INDEXES.items():
            cur.execute(f"CREATE INDEX IF NOT EXISTS {name} ON catalog_view ({columns})")

    def drop(self, cur: Cursor) -> None:
        """Drop the table (indexes and triggers go with it) and the SQLite search table."""
        cur.execute("DROP TABLE IF EXISTS catalog_view")
        if not is_postgres(cur):
            cur.execute("DROP TABLE IF EXISTS catalog_fts")

    def apply(self, cur: Cursor, events: Sequence[EventRecord]) -> None:
        """Rows touched by the batch are read once, changed in memory, written once each."""
        mine = [e for e in events if e.type in _FOLDS]
        likes = like_deltas(events)  # ModelLike toggles (projections.model_media)
        if not mine and not likes:
            return
        touched = {e.originator_id for e in mine if e.type != "ModelUploaded"}
        rows = _load(cur, sorted(touched))
        stored = set(rows)
        for event in mine:
            oid = event.originator_id
            if event.type == "ModelUploaded":
                rows[oid] = _uploaded_row(event)
            elif oid in rows:
                _FOLDS[event.type](rows[oid], event)
        deleted = [oid for oid, row in rows.items() if row.get("deleted") and oid in stored]
        new = [row for oid, row in rows.items() if oid not in stored and not row.get("deleted")]
        changed = [row for oid, row in rows.items() if oid in stored and not row.get("deleted")]
        if deleted:
            cur.executemany(_DELETE, [(oid,) for oid in sorted(deleted)])
        if new:
            cur.executemany(_INSERT, [tuple(r[c] for c in COLUMNS) for r in new])
        if changed:
            cur.executemany(_UPDATE, [(*(r[c] for c in _WRITTEN), r["id"]) for r in changed])
        if likes:  # after the rows: a model's upload always comes before its first like
            cur.executemany(_LIKES, [(delta, model_id) for model_id, delta in likes.items()])

    def dump(self, cur: Cursor) -> Iterator[tuple[Any, ...]]:
        """All rows by id (the same on both dialects: booleans as booleans)."""
        cur.execute(f"SELECT {', '.join(COLUMNS)} FROM catalog_view ORDER BY id")  # noqa: S608
        for row in cur.fetchall():
            item = dict(zip(COLUMNS, row, strict=True))
            item["is_approved"] = bool(item["is_approved"])
            item["is_public"] = bool(item["is_public"])
            yield tuple(item.values())


def _load(cur: Cursor, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The stored rows of these models, by id."""
    rows: dict[str, dict[str, Any]] = {}
    for at in range(0, len(ids), LOAD_CHUNK):
        chunk = ids[at : at + LOAD_CHUNK]
        marks = ", ".join("?" for _ in chunk)
        cur.execute(
            f"SELECT {', '.join(COLUMNS)} FROM catalog_view WHERE id IN ({marks})",  # noqa: S608
            chunk,
        )
        for row in cur.fetchall():
            item = dict(zip(COLUMNS, row, strict=True))
            item["is_approved"] = bool(item["is_approved"])
            item["is_public"] = bool(item["is_public"])
            rows[str(item["id"])] = item
    return rows


def _uploaded_row(event: EventRecord) -> dict[str, Any]:
    data = event.data
    at = event.timestamp.isoformat()
    row: dict[str, Any] = {
        "id": event.originator_id,
        "owner_id": data["owner_id"],
        "owner_role": data["owner_role"],
        "filename": data["file"]["filename"],
        "sha256": data["file"]["sha256"],
        "size_bytes": int(data["file"]["size_bytes"]),
        "mesh": json.dumps(data["mesh"], sort_keys=True),
        "is_approved": bool(data["is_approved"]),
        "is_public": bool(data["is_public"]),
        "seo_title": "",
        "seo_description": "",
        "slug": None,
        "image": None,
        "likes_total": 0,
        "created_at": at,
    }
    _details(row, event)
    return row


def _touch(row: dict[str, Any], event: EventRecord) -> None:
    """What every fold sets: the derived columns, the time and the stream version."""
    row["status"] = status_of(row["is_approved"], row["is_public"])
    row["updated_at"] = event.timestamp.isoformat()
    row["version"] = event.version
    row["search_text"] = " ".join(
        str(row[c])
        for c in ("name", "description", "seo_title", "seo_description", "material", "color")
        if row[c]
    ).lower()


def _details(row: dict[str, Any], event: EventRecord) -> None:
    details = event.data["details"]
    for column in ("name", "description", "category_id", "material", "color", "notes"):
        row[column] = str(details.get(column) or "")
    price = details.get("price_paise")
    row["price_paise"] = None if price is None else int(price)
    row["price_order"] = UNPRICED_ORDER if price is None else int(price)
    _touch(row, event)


def _approval(row: dict[str, Any], event: EventRecord) -> None:
    row["is_approved"] = bool(event.data["is_approved"])
    _touch(row, event)


def _visibility(row: dict[str, Any], event: EventRecord) -> None:
    row["is_public"] = bool(event.data["is_public"])
    _touch(row, event)


def _meta(row: dict[str, Any], event: EventRecord) -> None:
    meta = event.data["meta"]
    row["seo_title"] = str(meta.get("seo_title") or "")
    row["seo_description"] = str(meta.get("seo_description") or "")
    row["slug"] = meta.get("slug") or None
    _touch(row, event)


def _image(row: dict[str, Any], event: EventRecord) -> None:
    image = event.data.get("image") if event.type == "ModelImageSet" else None
    row["image"] = json.dumps(image, sort_keys=True) if image else None
    _touch(row, event)


def _deleted(row: dict[str, Any], event: EventRecord) -> None:
    row["deleted"] = True


_FOLDS = {
    "ModelUploaded": _details,  # never called: new rows are made by _uploaded_row
    "ModelDetailsChanged": _details,
    "ModelApprovalChanged": _approval,
    "ModelVisibilityChanged": _visibility,
    "ModelMetaChanged": _meta,
    "ModelImageSet": _image,
    "ModelImageRemoved": _image,
    "ModelDeleted": _deleted,
}
