"""Sitemap reads of the catalog view (projections.catalog): the approved public models'
ids, slugs and last changes, oldest first, in keyset pages.

Oldest first (created_at, id), on the index that starts with status: a new model joins the
end, so the sitemap parts before it keep their URLs. Pages continue after the last key
read, never by OFFSET, so each batch is one short read, however deep the part.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from domain.catalog_models import APPROVED
from projections.base import Cursor, ViewDatabase

BATCH = 2_000
_LISTED = "FROM catalog_view WHERE status = ?"


@dataclass(frozen=True)
class ListedModel:
    """A sitemap entry's facts: the model's id, its slug and when its listing last changed."""

    id: str
    slug: str | None
    updated_at: str


def count_listed(cur: Cursor) -> int:
    """How many models the storefront lists (approved and public)."""
    cur.execute(f"SELECT COUNT(*) {_LISTED}", (APPROVED,))
    return int(cur.fetchone()[0])


def _key_before(cur: Cursor, skip: int) -> tuple[str, str] | None:
    """The (created_at, id) of the `skip`-th listed model, the last one a part skips."""
    cur.execute(
        f"SELECT created_at, id {_LISTED} ORDER BY created_at, id LIMIT 1 OFFSET ?",
        (APPROVED, skip - 1),
    )
    row = cur.fetchone()
    return (str(row[0]), str(row[1])) if row else None


def _page(cur: Cursor, after: tuple[str, str] | None, limit: int) -> list[tuple[str, ...]]:
    columns = "id, slug, updated_at, created_at"
    if after is None:
        cur.execute(
            f"SELECT {columns} {_LISTED} ORDER BY created_at, id LIMIT ?",
            (APPROVED, limit),
        )
    else:
        cur.execute(
            f"SELECT {columns} {_LISTED} AND (created_at, id) > (?, ?)"
            " ORDER BY created_at, id LIMIT ?",
            (APPROVED, *after, limit),
        )
    return [tuple(row) for row in cur.fetchall()]


def listed_models(
    views: ViewDatabase, skip: int, take: int, batch: int = BATCH
) -> Iterator[list[ListedModel]]:
    """Batches of the listed models after the first `skip`, `take` in all; each batch is
    read in its own short read (a slow client holds no transaction open)."""
    after: tuple[str, str] | None = None
    if skip:
        with views.reading() as cur:
            after = _key_before(cur, skip)
        if after is None:
            return
    left = take
    while left > 0:
        with views.reading() as cur:
            rows = _page(cur, after, min(batch, left))
        if not rows:
            return
        yield [ListedModel(str(r[0]), str(r[1]) if r[1] else None, str(r[2])) for r in rows]
        left -= len(rows)
        after = (str(rows[-1][3]), str(rows[-1][0]))
