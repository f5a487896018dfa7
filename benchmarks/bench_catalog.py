"""The storefront catalog, 100,000 approved models: a searched, filtered page (p50 < 20 ms).

The catalog view is filled through its projection (CatalogProjection.apply, batches of
5,000 ModelUploaded records made here, not read from an event store: the list's read path
is what this measures, and the rows, indexes and search data are the ones the projection
writes). Names and descriptions draw words from a fixed vocabulary (each word in ~4 % of
models), across 20 categories. Then, alternating, each timed call asks for page 1 of 20
with `q=<word>` and `category_id=<category>` (a different pair each round):

* ours: ``projections.catalog_queries.list_models`` (the count and the page), the full-text index
  (SQLite FTS5 / PostgreSQL tsvector + GIN) together with the category index;
* baseline: the same page with `q` as a LIKE scan of the search text (what the issue rules
  out), so the ratio is what the text index buys;
* http: GET /api/catalog?q=...&category_id=...&limit=20 through the ASGI app (TestClient:
  routing, validation, serialisation; no network), its p50 and p95 in the table.

Also shown: a very common word (in two thirds of the models) with a category, and no `q`.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient

from api.app import create_app
from benchmarks.support import (
    Options,
    PgTarget,
    Result,
    fmt_seconds,
    main_with_postgres,
    on_both_stores,
    print_table,
    section,
)
from infra.bootstrap import Container
from projections.base import Cursor, EventRecord
from projections.catalog import CatalogProjection
from projections.catalog_queries import CatalogQuery, list_models

GOAL_P50_MS = 20.0
MODELS = 100_000
CATEGORIES = 20
BATCH = 5_000
COMMON = "print"  # in two of every three models' descriptions
WORDS = [
    f"{stem}{suffix}"
    for stem in (
        "gear",
        "vase",
        "stand",
        "clip",
        "hook",
        "bracket",
        "knob",
        "case",
        "holder",
        "mount",
        "lamp",
        "box",
        "tray",
        "dragon",
        "robot",
        "planter",
        "coaster",
        "frame",
        "hinge",
        "spool",
        "whistle",
        "rocket",
        "castle",
        "puzzle",
        "chess",
    )
    for suffix in ("", "let", "ster", "ly", "ing", "ery", "oid", "ix", "on", "ade")
][:250]
MESH = {
    "file_format": "stl",
    "dim_x_mm": 20.0,
    "dim_y_mm": 20.0,
    "dim_z_mm": 20.0,
    "volume_cm3": 8.0,
    "surface_area_cm2": 24.0,
    "triangle_count": 12,
    "body_count": 1,
    "is_watertight": True,
}


def rounds_for(quick: bool) -> int:
    """Timed calls per variant."""
    return 60 if quick else 300


def category_ids() -> list[str]:
    return [str(UUID(int=i + 1)) for i in range(CATEGORIES)]


def records(count: int, seed: int = 7) -> list[EventRecord]:
    """ModelUploaded records of `count` approved public models."""
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    categories = category_ids()
    made = []
    for i in range(count):
        words = rng.sample(WORDS, 11)
        description = " ".join(words[3:]) + (f" {COMMON}" if i % 3 else "")
        price = None if i % 5 == 0 else 5_000 + rng.randrange(200_000)
        made.append(
            EventRecord(
                position=i + 1,
                originator_id=str(UUID(int=(1 << 64) + i)),
                version=1,
                type="ModelUploaded",
                timestamp=start + timedelta(seconds=i),
                data={
                    "details": {
                        "name": " ".join(words[:3]).title(),
                        "category_id": categories[i % CATEGORIES],
                        "material": "PLA",
                        "color": "Black",
                        "price_paise": price,
                        "description": description,
                        "notes": "",
                    },
                    "owner_id": "bench",
                    "owner_role": "admin",
                    "file": {"sha256": f"{i:064x}", "filename": "part.stl", "size_bytes": 684},
                    "mesh": MESH,
                    "is_approved": True,
                    "is_public": True,
                    "actor": "admin:bench",
                },
            )
        )
    return made


def fill(container: Container, count: int) -> float:
    """The view through its projection, one transaction per batch; seconds spent."""
    projection = CatalogProjection()
    made = records(count)
    start = time.perf_counter()
    for at in range(0, count, BATCH):
        with container.views.transaction() as cur:
            projection.apply(cur, made[at : at + BATCH])
    with container.views.transaction() as cur:  # fresh planner statistics, as autovacuum would
        cur.execute("ANALYZE catalog_view")
    return time.perf_counter() - start


def like_scan(cur: Cursor, query: CatalogQuery) -> tuple[list[Any], int]:
    """The baseline: the same page with q as a LIKE scan over the search text."""
    where = "status = 'approved' AND category_id = ? AND search_text LIKE ?"
    params = [query.category_id, f"%{query.q}%"]
    cur.execute(f"SELECT COUNT(*) FROM catalog_view WHERE {where}", params)
    total = int(cur.fetchone()[0])
    cur.execute(
        f"SELECT id, name FROM catalog_view WHERE {where}"
        " ORDER BY created_at DESC, id DESC LIMIT 20",
        params,
    )
    return cur.fetchall(), total


def _percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def measure(backend: str, container: Container, opts: Options) -> list[Result]:
    """Fill, then alternate the variants; print a table, return the summary row."""
    rounds = rounds_for(opts.quick)
    section(f"Catalog on {backend}: {MODELS:,} approved models, {CATEGORIES} categories")
    print(f"filled through the projection in {fmt_seconds(fill(container, MODELS))}")
    rng = random.Random(11)
    categories = category_ids()
    pairs = [(rng.choice(WORDS), rng.choice(categories)) for _ in range(rounds)]
    views = container.views

    def query(q: str | None, category: str | None) -> Callable[[], Any]:
        def run() -> Any:
            with views.reading() as cur:
                return list_models(cur, CatalogQuery(q=q, category_id=category, limit=20))

        return run

    def baseline(q: str, category: str) -> Callable[[], Any]:
        def run() -> Any:
            with views.reading() as cur:
                return like_scan(cur, CatalogQuery(q=q, category_id=category))

        return run

    def http(client: TestClient, word: str, category: str) -> Callable[[], Any]:
        def run() -> Any:
            params = {"q": word, "category_id": category, "limit": 20}
            answer = client.get("/api/catalog", params=params)
            assert answer.status_code == 200, answer.text
            return answer

        return run

    for word, category in pairs[:10]:  # the two ways agree before anything is timed
        page, total = query(word, category)()
        assert total == baseline(word, category)()[1] > 0, word
        assert {m["category_id"] for m in page} == {category}
    app = create_app(container.settings, container=container)
    times: dict[str, list[float]] = {
        "ours: q + category (list_models)": [],
        "baseline: q as LIKE + category": [],
        "http: GET /api/catalog q + category": [],
        f"common word '{COMMON}' + category": [],
        "category only, no q": [],
    }
    with TestClient(app) as client:
        for word, category in pairs:
            variants = [
                query(word, category),
                baseline(word, category),
                http(client, word, category),
                query(COMMON, category),
                query(None, category),
            ]
            for name, fn in zip(times, variants, strict=True):
                started = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - started)
    rows = [
        [name, _ms(statistics.median(t)), _ms(_percentile(t, 95)), _ms(min(t))]
        for name, t in times.items()
    ]
    print_table(["what", "p50", "p95", "min"], rows, align="lrrr")
    ours_t = times["ours: q + category (list_models)"]
    http_t = times["http: GET /api/catalog q + category"]
    p50, p95 = statistics.median(ours_t), _percentile(ours_t, 95)
    http50, http95 = statistics.median(http_t), _percentile(http_t, 95)
    base = statistics.median(times["baseline: q as LIKE + category"])
    met = "met" if http50 * 1000 < GOAL_P50_MS else "MISSED"
    return [
        Result(
            "catalog",
            backend,
            f"page of 20, q + category, {MODELS:,} models",
            1 / p50,
            1 / base,
            note=f"query p50 {p50 * 1000:.2f} ms p95 {p95 * 1000:.2f} ms; HTTP p50"
            f" {http50 * 1000:.2f} ms p95 {http95 * 1000:.2f} ms (goal p50 < 20 ms: {met});"
            " baseline: q as a LIKE scan",
        )
    ]


def run(options: Options, pg: PgTarget | None) -> list[Result]:
    """SQLite, then PostgreSQL when a server is available."""
    return on_both_stores("catalog", measure, options, pg)


def main(argv: list[str] | None = None) -> None:
    """python -m benchmarks.bench_catalog [--quick] [--pg-dsn URL] [--no-postgres]."""
    main_with_postgres(__doc__ or "", run, argv)


if __name__ == "__main__":
    main()
