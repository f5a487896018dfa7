"""Story: the SEO rules on their own: how sitemap URLs split into files, what robots.txt and
the Organization setting accept, and how prices, descriptions and timestamps are written."""

from __future__ import annotations

import pytest

from domain.errors import InvalidInput, NotFound
from domain.seo import (
    Product,
    Site,
    SitemapPart,
    SitemapPlan,
    meta_description,
    organization_schema,
    price_text,
    product_jsonld,
    robots_body,
    robots_text,
    summary,
    w3c_datetime,
)

SITE = Site(name="fabledger", base_url="https://shop.example")


def test_one_file_holds_the_home_page_and_products_up_to_the_limit() -> None:
    plan = SitemapPlan(products=4, per_file=5)
    assert plan.parts == 1 and not plan.indexed
    assert plan.part(1) == SitemapPart(home=True, skip=0, take=4)


def test_beyond_the_limit_parts_share_the_urls_with_home_first() -> None:
    plan = SitemapPlan(products=12, per_file=5)  # 13 URLs: 5 + 5 + 3
    assert plan.parts == 3 and plan.indexed
    assert plan.part(1) == SitemapPart(home=True, skip=0, take=4)
    assert plan.part(2) == SitemapPart(home=False, skip=4, take=5)
    assert plan.part(3) == SitemapPart(home=False, skip=9, take=3)
    for missing in (0, 4):
        with pytest.raises(NotFound):
            plan.part(missing)
    assert SitemapPlan(products=0, per_file=50_000).part(1) == SitemapPart(True, 0, 0)
    assert SitemapPlan(products=49_999, per_file=50_000).parts == 1
    assert SitemapPlan(products=50_000, per_file=50_000).parts == 2


def test_robots_text_is_directives_comments_and_blank_lines() -> None:
    text = "# ours\r\nUser-agent: *   \r\nDisallow: /api/admin/\n\n\n"
    assert robots_text("robots_txt", text) == "# ours\nUser-agent: *\nDisallow: /api/admin/\n"
    assert robots_text("robots_txt", "\n\n") == ""
    assert robots_text("robots_txt", "Crawl-delay:\t5") == "Crawl-delay:\t5\n"
    for bad in ("<html>", "User-agent *", "Disallow: /a\u0085b", ": value"):
        with pytest.raises(InvalidInput, match=r"^robots_txt: line"):
            robots_text("robots_txt", f"User-agent: *\n{bad}")


def test_the_served_robots_txt_gets_a_sitemap_line_unless_it_has_one() -> None:
    url = "https://shop.example/sitemap.xml"
    assert robots_body("User-agent: *\n", url) == f"User-agent: *\nSitemap: {url}\n"
    own = "User-agent: *\nsitemap: https://cdn.example/s.xml\n"
    assert robots_body(own, url) == own


def test_a_custom_organization_is_a_typed_object_of_bounded_size() -> None:
    good = {"@type": "Organization", "name": "Print Works", "@context": "https://schema.org/"}
    assert organization_schema("org", good) == good
    assert organization_schema("org", None) is None
    deep: dict[str, object] = {"@type": "Organization"}
    inner = deep
    for _ in range(10):
        inner["x"] = inner = {}
    for bad in ({"@type": 3}, {"@type": "Organization", "n": float("nan")}, deep, "x"):
        with pytest.raises(InvalidInput, match=r"^org: "):
            organization_schema("org", bad)


def test_prices_are_exact_decimal_strings() -> None:
    assert [price_text(p) for p in (0, 1, 10, 123450, 100_000_000)] == [
        "0.00",
        "0.01",
        "0.10",
        "1234.50",
        "1000000.00",
    ]
    with pytest.raises(TypeError):
        price_text(12.5)  # type: ignore[arg-type]


def test_descriptions_are_summarised_at_a_word_boundary() -> None:
    assert summary("  two\n\nlines  ") == "two lines"
    long = "word " * 60
    cut = summary(long)
    assert len(cut) <= 160 and cut.endswith("word…")
    bare = Product("id-1", "Hook", "", "", "PETG", "", None)
    assert meta_description(bare, SITE) == "Hook: 3D printed in PETG, made to order by fabledger."
    ld = product_jsonld(bare, SITE)
    assert "offers" not in ld and "category" not in ld and "image" not in ld
    assert ld["description"] == meta_description(bare, SITE)


def test_lastmod_is_utc_to_the_second() -> None:
    assert w3c_datetime("2025-03-04T05:06:07.891011+00:00") == "2025-03-04T05:06:07+00:00"
    assert w3c_datetime("2025-03-04T10:36:07+05:30") == "2025-03-04T05:06:07+00:00"
    assert w3c_datetime("2025-03-04T05:06:07") == "2025-03-04T05:06:07+00:00"
