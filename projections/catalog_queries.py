"""Reads of the catalog view (projections.catalog): the storefront's and staff's pages,
one model, and the category count; `q` uses the dialect's full-text index."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from domain.catalog_models import APPROVED, STATUSES
from projections.base import Cursor, ViewDatabase
from projections.catalog import LIST_COLUMNS, SORTS, is_postgres

ADMIN_STATUSES = (*STATUSES, "all")
MAX_PAGE_SIZE = 100
MAX_PAGE = 10_000
MAX_WORDS = 8
# SQLite: up to this many matches, the page is read by looking each match up and sorting;
# beyond it by walking the sort's index (measured on 100,000 models: benchmarks/bench_catalog).
FTS_DRIVEN_MAX = 500
# Letters and digits: what both FTS5's unicode61 and PostgreSQL's parser call a word.
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class CatalogQuery:
    """A page of the catalog: the storefront's (approved only) or staff's (any status)."""

    page: int = 1
    limit: int = 20
    q: str | None = None
    category_id: str | None = None
    sort: str = "newest"
    status: str = APPROVED  # staff: approved, pending, hidden or all


def search_words(q: str | None) -> list[str]:
    """The words of a search, lower-cased (punctuation separates words, as in the index)."""
    return _WORD.findall((q or "").lower())[:MAX_WORDS]


def list_models(cur: Cursor, query: CatalogQuery) -> tuple[list[dict[str, Any]], int]:
    """One page of models matching the filters, and how many match in all."""
    where: list[str] = []
    params: list[Any] = []
    if query.status != "all":
        where.append("status = ?")
        params.append(query.status)
    if query.category_id:
        where.append("category_id = ?")
        params.append(query.category_id)
    words = search_words(query.q)
    table = "catalog_view"
    if words and is_postgres(cur):
        where.append("search @@ to_tsquery('simple', ?)")
        params.append(" & ".join(f"{w}:*" for w in words))
    elif words:
        # The facets (category, status) are in the index: the matches are the answer's rows.
        match = _fts_match(words, query)
        cur.execute(
            "SELECT rowid FROM catalog_fts WHERE catalog_fts MATCH ? LIMIT ?",
            (match, FTS_DRIVEN_MAX + 1),
        )
        hits = [int(row[0]) for row in cur.fetchall()]
        if len(hits) <= FTS_DRIVEN_MAX:  # few: look each up and sort them
            if not hits:
                return [], 0
            total = len(hits)
            where.append(f"seq IN ({', '.join('?' for _ in hits)})")
            params.extend(hits)
        else:
            # Many: count them in the index alone, then walk the sort's index in order,
            # testing each row against the matches, and stop at the page.
            cur.execute("SELECT COUNT(*) FROM catalog_fts WHERE catalog_fts MATCH ?", (match,))
            total = int(cur.fetchone()[0])
            where.append("seq IN (SELECT rowid FROM catalog_fts WHERE catalog_fts MATCH ?)")
            params.append(match)
            if query.status != "all":
                table += f" INDEXED BY {_sort_index(query)}"
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    if not words or is_postgres(cur):
        cur.execute(f"SELECT COUNT(*) FROM catalog_view{clause}", params)  # noqa: S608
        total = int(cur.fetchone()[0])
    cur.execute(
        f"SELECT {', '.join(LIST_COLUMNS)} FROM {table}{clause}"  # noqa: S608
        f" ORDER BY {SORTS[query.sort]} LIMIT ? OFFSET ?",
        [*params, query.limit, (query.page - 1) * query.limit],
    )
    return [_as_dict(row) for row in cur.fetchall()], total


def _sort_index(query: CatalogQuery) -> str:
    """The index that reads a status's (and category's) rows in the order of the sort."""
    sort = {"newest": "newest", "popular": "popular", "price": "price"}[query.sort]
    return f"catalog_view_category_{sort}" if query.category_id else f"catalog_view_{sort}"


def _fts_match(words: list[str], query: CatalogQuery) -> str:
    """An FTS5 query: every word as a prefix in the text, and the filters as facets."""
    match = [f'search_text : "{w}"*' for w in words]
    if query.category_id:
        match.append(f'facets : "k{query.category_id.replace("-", "")}"')
    if query.status != "all":
        match.append(f'facets : "s{query.status}"')
    return " AND ".join(match)


def find_model(cur: Cursor, model_id: str) -> dict[str, Any] | None:
    """One model's row, or None."""
    cur.execute(
        f"SELECT {', '.join(LIST_COLUMNS)} FROM catalog_view WHERE id = ?",  # noqa: S608
        (model_id,),
    )
    row = cur.fetchone()
    return _as_dict(row) if row else None


def _as_dict(row: Sequence[Any]) -> dict[str, Any]:
    item = dict(zip(LIST_COLUMNS, row, strict=True))
    item["is_approved"] = bool(item["is_approved"])
    item["is_public"] = bool(item["is_public"])
    item["mesh"] = json.loads(item["mesh"])
    item["image"] = json.loads(item["image"]) if item["image"] else None
    return item


class CatalogView:
    """What the print config asks of catalog models: how many use a category."""

    def __init__(self, views: ViewDatabase) -> None:
        self.views = views

    def in_category(self, category_id: Any) -> int:
        """How many live models (any status) are filed under the category."""
        with self.views.reading() as cur:
            cur.execute(
                "SELECT COUNT(*) FROM catalog_view WHERE category_id = ?", (str(category_id),)
            )
            row = cur.fetchone()
        return int(row[0]) if row else 0
