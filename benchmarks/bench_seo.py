"""Search engines: a 50,000-URL sitemap file streamed from the catalog view, and the
crawlers' product page, each against a plain baseline doing the same job.

* sitemap: the catalog view holds 120,000 approved models (60,000 with --quick), filled
  through its projection (benchmarks.bench_catalog.records). Timed, alternating:
  ours: ``projections.seo.listed_models`` (keyset batches of 2,000) through
  ``api.sitemaps.urlset`` (lxml's incremental writer, library escaping), for part 1 (the
  home page and 49,999 models) and part 2 (the next 50,000: its start found by one
  OFFSET over the covering index, then keyset pages);
  baseline: the same rows in one SELECT ... LIMIT/OFFSET, formatted with f-strings and
  xml.sax.saxutils.escape into one string (no streaming, no library writer).
  Also the HTTP answer of GET /sitemap-products-1.xml (TestClient, streamed body).
* product page: 200 models saved as real CatalogModel streams (5 events each: upload,
  slug, meta, approval off/on), then GET /product/<slug> (the streams, the slug's claim
  and the category, rendered to HTML) against GET /api/catalog/<id> (one view row as
  JSON), p50 and p95 of each.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4
from xml.sax.saxutils import escape

from fastapi.testclient import TestClient

from api.app import create_app
from api.sitemaps import urlset
from benchmarks.bench_catalog import MESH, fill
from benchmarks.support import (
    Options,
    PgTarget,
    Result,
    fmt_seconds,
    main_with_postgres,
    print_table,
    section,
)
from domain.catalog_models import CatalogModel, ModelDetails, SeoMeta
from domain.catalog_slugs import SlugClaim
from domain.fleet.categories import Category, CategorySpec
from domain.seo import SITEMAP_NS, URLS_PER_SITEMAP, w3c_datetime
from infra.bootstrap import Container, bootstrap
from infra.settings import Settings
from projections.seo import listed_models

BASE = "https://shop.example"
PAGES = 200


def _ours(container: Container, skip: int, take: int, home: bool) -> int:
    """Bytes of one sitemap part the way the route writes it."""
    batches = listed_models(container.views, skip, take)
    chunks = urlset(f"{BASE}/" if home else None, batches, f"{BASE}/product/{{ref}}")
    return sum(len(chunk) for chunk in chunks)


def _baseline(container: Container, skip: int, take: int, home: bool) -> int:
    """The same part from one SELECT and f-strings."""
    with container.views.reading() as cur:
        cur.execute(
            "SELECT id, slug, updated_at FROM catalog_view WHERE status = 'approved'"
            " ORDER BY created_at, id LIMIT ? OFFSET ?",
            (take, skip),
        )
        rows = cur.fetchall()
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<urlset xmlns="{SITEMAP_NS}">']
    if home:
        lines.append(f"<url><loc>{escape(BASE)}/</loc></url>")
    for model_id, slug, updated in rows:
        loc = escape(f"{BASE}/product/{slug or model_id}")
        lines.append(f"<url><loc>{loc}</loc><lastmod>{w3c_datetime(updated)}</lastmod></url>")
    lines.append("</urlset>")
    return len("\n".join(lines).encode())


def _median_pair(
    rounds: int, ours: Callable[[], Any], baseline: Callable[[], Any]
) -> tuple[float, float]:
    mine: list[float] = []
    base: list[float] = []
    for index in range(rounds):
        order = [(ours, mine), (baseline, base)]
        for fn, times in order if index % 2 == 0 else reversed(order):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
    return statistics.median(mine), statistics.median(base)


def _models(container: Container, count: int) -> list[tuple[str, str]]:
    """(id, slug) of `count` listed models saved as real streams, five events each."""
    catalog = container.catalog
    shelf = Category.create(uuid4(), CategorySpec(name="Bench shelf"), actor="admin:bench")
    catalog.save(shelf)
    made = []
    for i in range(count):
        details = ModelDetails(
            name=f"Bench part {i}",
            category_id=str(shelf.id),
            material="PLA",
            color="Black",
            price_paise=10_000 + i,
            description="A part for the benchmark. " * 8,
        )
        model = CatalogModel.upload(
            uuid4(),
            details,
            owner_id="bench",
            owner_role="admin",
            file={"sha256": f"{i:064x}", "filename": "part.stl", "size_bytes": 684},
            mesh=MESH,
            auto_approve_customers=False,
            actor="admin:bench",
        )
        slug = f"bench-part-{i}"
        model.change_meta(SeoMeta(seo_title=f"Part {i}", slug=slug), actor="admin:bench")
        model.moderate(is_approved=False, is_public=None, actor="admin:bench")
        model.moderate(is_approved=True, is_public=None, actor="admin:bench")
        claim = SlugClaim.first(slug, UUID(str(model.id)), actor="admin:bench")
        catalog.save(model, claim)
        made.append((str(model.id), slug))
    container.projections["catalog"].catch_up()
    return made


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def measure(backend: str, container: Container, opts: Options) -> list[Result]:
    """Fill, time the sitemap parts and the product page; a table and summary rows."""
    models = 60_000 if opts.quick else 120_000
    rounds = 3 if opts.quick else 5
    section(f"SEO on {backend}: sitemap of {models:,} models, product pages")
    print(f"catalog view filled through the projection in {fmt_seconds(fill(container, models))}")
    per = URLS_PER_SITEMAP
    parts = {
        "part 1 (home + 49,999)": (0, per - 1, True),
        "part 2 (next 50,000)": (per - 1, per, False),
    }
    rows, results = [], []
    for name, (skip, take, home) in parts.items():
        size = _ours(container, skip, take, home)
        assert abs(size - _baseline(container, skip, take, home)) < size * 0.05
        ours, base = _median_pair(
            rounds,
            lambda s=skip, t=take, h=home: _ours(container, s, t, h),
            lambda s=skip, t=take, h=home: _baseline(container, s, t, h),
        )
        urls = min(take + home, models + 1 - skip)
        rows.append([name, f"{urls:,}", fmt_seconds(ours), fmt_seconds(base), f"{size:,} B"])
        results.append(
            Result(
                "seo",
                backend,
                f"sitemap {name}",
                urls / ours,
                urls / base,
                unit=" URLs/s",
                note="baseline: one SELECT + f-strings, built whole",
            )
        )
    app = create_app(container.settings, container=container)
    pages = _models(container, PAGES if not opts.quick else PAGES // 4)
    with TestClient(app) as client:
        started = time.perf_counter()
        answer = client.get("/sitemap-products-1.xml")
        http = time.perf_counter() - started
        assert answer.status_code == 200 and answer.text.count("<url>") == per
        rows.append(["http: GET /sitemap-products-1.xml", f"{per:,}", fmt_seconds(http), "", ""])
        page_t: list[float] = []
        detail_t: list[float] = []
        for index, (model_id, slug) in enumerate(pages * 2):
            calls = [(f"/product/{slug}", page_t), (f"/api/catalog/{model_id}", detail_t)]
            for path, times in calls if index % 2 == 0 else reversed(calls):
                started = time.perf_counter()
                response = client.get(path)
                times.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text
    print_table(["what", "URLs", "ours", "baseline", "size"], rows, align="lrrrr")
    page50, detail50 = statistics.median(page_t), statistics.median(detail_t)
    print(
        f"GET /product/<slug>: p50 {page50 * 1000:.2f} ms p95 {_percentile(page_t, 95) * 1000:.2f}"
        f" ms; GET /api/catalog/<id>: p50 {detail50 * 1000:.2f} ms"
        f" p95 {_percentile(detail_t, 95) * 1000:.2f} ms ({len(page_t)} each)"
    )
    results.append(
        Result(
            "seo",
            backend,
            "GET /product/<slug> vs GET /api/catalog/<id>",
            1 / page50,
            1 / detail50,
            unit=" req/s",
            note="product page from the streams (model, slug claim, category) vs one view row",
        )
    )
    return results


def _container(data_dir: Path, dsn: str) -> Container:
    settings = Settings(
        data_dir=data_dir,
        database_url=dsn,
        jwt_secret="bench-secret-that-is-long-enough-for-hs256",
        rate_limits_enabled=False,
        public_url=BASE,
    )
    return bootstrap(settings)


def run(options: Options, pg: PgTarget | None) -> list[Result]:
    """SQLite, then PostgreSQL when a server is available."""
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="fabledger-bench-seo-") as tmp:
        container = _container(Path(tmp), "")
        try:
            results += measure("sqlite", container, options)
        finally:
            container.close()
    if pg is not None:
        with (
            pg.database("seo") as dsn,
            tempfile.TemporaryDirectory(prefix="fabledger-bench-seo-") as tmp,
        ):
            container = _container(Path(tmp), dsn)
            try:
                results += measure("postgres", container, options)
            finally:
                container.close()
    return results


def main(argv: list[str] | None = None) -> None:
    """python -m benchmarks.bench_seo [--quick] [--pg-dsn URL] [--no-postgres]."""
    main_with_postgres(__doc__ or "", run, argv)


if __name__ == "__main__":
    main()
