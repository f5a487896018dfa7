"""Story: search engines find the shop. The sitemap lists the home page and exactly the
approved public catalog models (at /product/<slug or id>), robots.txt says what the admin
set and where the sitemap is, and every product has meta tags and a schema.org Product
(INR price to the paisa) both as JSON for the storefront and in a server-rendered page
for crawlers, whose hostile names stay text. Anything not listed is 404 everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import lxml.html
import pytest
from fastapi.testclient import TestClient
from lxml import etree

import domain.seo
from domain.seo import w3c_datetime
from tests.support.catalog_models import new_category, share_model, upload_model
from tests.support.http import Account, after, app_settings, error_of, register, running_app
from tests.support.model_media import moderate, picture

BASE = "https://shop.example"
NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
XSD = etree.XMLSchema(
    etree.parse(str(Path(__file__).parents[1] / "data" / "sitemap" / "sitemap-0.9.xsd"))
)
UNKNOWN = "00000000-0000-4000-8000-000000000000"
HOSTILE = "</script><script>alert(1)</script>"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """This module's app: its public URL has a trailing slash, which links must not double."""
    settings = app_settings(tmp_path_factory.mktemp("seo"), public_url=f"{BASE}/")
    with running_app(settings) as running:
        yield running


@pytest.fixture(scope="module")
def shelf(client: TestClient, admin: Account) -> str:
    return new_category(client, admin, "Desk toys")


def settle(client: TestClient, position: int) -> None:
    """Wait until the catalog view includes a write (the sitemap reads it)."""
    answer = client.get("/api/catalog", params={"limit": 1}, headers=after(position))
    assert answer.status_code == 200, answer.text


def put_setting(client: TestClient, admin: Account, key: str, value: Any) -> httpx.Response:
    return client.put(f"/api/admin/settings/{key}", headers=admin.auth, json={"value": value})


def set_setting(client: TestClient, admin: Account, key: str, value: Any) -> None:
    response = put_setting(client, admin, key, value)
    assert response.status_code == 200, response.text


def sitemap(client: TestClient, path: str = "/sitemap.xml") -> etree._Element:
    """A sitemap file, checked: 200, application/xml, valid against the 0.9 schema."""
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == "application/xml"
    root = etree.fromstring(response.content)
    assert XSD.validate(root), XSD.error_log
    return root


def locations(root: etree._Element) -> list[str]:
    return [str(loc) for loc in root.xpath("//s:loc/text()", namespaces=NS)]


def storefront_ids(client: TestClient) -> set[str]:
    page = client.get("/api/catalog", params={"limit": 100}).json()
    assert page["total"] <= 100
    return {m["id"] for m in page["models"]}


def seo_of(client: TestClient, ref: str) -> dict[str, Any]:
    response = client.get(f"/api/seo/product/{ref}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def set_meta(client: TestClient, admin: Account, model_id: str, **meta: Any) -> int:
    response = client.patch(f"/api/admin/models/{model_id}/meta", headers=admin.auth, json=meta)
    assert response.status_code == 200, response.text
    return int(response.json()["position"])


def page(client: TestClient, ref: str, status: int = 200) -> lxml.html.HtmlElement:
    """A /product page, checked: its status, HTML, and headers that let nothing run."""
    response = client.get(f"/product/{ref}")
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    return lxml.html.document_fromstring(response.text)


def meta_of(doc: lxml.html.HtmlElement, attribute: str, key: str) -> str:
    found = doc.xpath(f'//meta[@{attribute}="{key}"]/@content')
    assert len(found) == 1, (key, found)
    return str(found[0])


def test_the_sitemap_lists_the_home_page_and_exactly_the_approved_public_models(
    client: TestClient, admin: Account, customer: Account, shelf: str
) -> None:
    slugged = upload_model(client, admin, shelf, name="Slugged stand")
    set_meta(client, admin, slugged["id"], slug="slugged-stand")
    plain = upload_model(client, admin, shelf, name="Plain stand")
    hidden = upload_model(client, admin, shelf, name="Hidden stand")
    moderate(client, admin, hidden["id"], is_public=False)
    withdrawn = upload_model(client, admin, shelf, name="Withdrawn stand")
    moderate(client, admin, withdrawn["id"], is_approved=False)
    gone = upload_model(client, admin, shelf, name="Deleted stand")
    deleted = client.delete(f"/api/admin/models/{gone['id']}", headers=admin.auth)
    assert deleted.status_code == 200, deleted.text
    pending = share_model(client, customer, shelf, name="Waiting stand")
    settle(client, pending["position"])

    root = sitemap(client)
    assert root.tag == f"{{{NS['s']}}}urlset"
    found = locations(root)
    assert found[0] == f"{BASE}/"  # the home page first, no double slash
    assert len(found) == len(set(found))
    assert f"{BASE}/product/slugged-stand" in found
    assert f"{BASE}/product/{plain['id']}" in found
    assert f"{BASE}/product/{slugged['id']}" not in found  # the slug is the canonical URL
    for unlisted in (hidden, withdrawn, gone, pending):
        assert not any(unlisted["id"] in url for url in found), unlisted["name"]
    listed = storefront_ids(client)
    assert len(found) == 1 + len(listed)  # exactly the storefront's models, and home
    refs = {url.rsplit("/", 1)[1] for url in found[1:]}
    assert refs - {"slugged-stand"} | {slugged["id"]} == listed

    stamps = {
        str(u.findtext("s:loc", namespaces=NS)): u.findtext("s:lastmod", namespaces=NS)
        for u in root.findall("s:url", NS)
    }
    assert stamps[f"{BASE}/"] is None
    row = client.get(f"/api/catalog/{plain['id']}").json()
    assert stamps[f"{BASE}/product/{plain['id']}"] == w3c_datetime(row["updated_at"])


def test_the_toggle_takes_products_out_of_the_sitemap_and_back(
    client: TestClient, admin: Account, shelf: str
) -> None:
    made = upload_model(client, admin, shelf, name="Toggled stand")
    settle(client, made["position"])
    set_setting(client, admin, "sitemap_include_products", False)
    try:
        assert locations(sitemap(client)) == [f"{BASE}/"]
        assert client.get("/sitemap-products-2.xml").status_code == 404
        # The product pages stay: the toggle is about the sitemap only.
        page(client, made["id"])
    finally:
        set_setting(client, admin, "sitemap_include_products", True)
    assert f"{BASE}/product/{made['id']}" in locations(sitemap(client))


def test_above_the_per_file_limit_the_sitemap_is_an_index_of_parts(
    client: TestClient, admin: Account, shelf: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = upload_model(client, admin, shelf, name="Indexed stand")
    settle(client, made["position"])
    whole = locations(sitemap(client))
    monkeypatch.setattr(domain.seo, "URLS_PER_SITEMAP", 2)  # 50,000 in production

    index = sitemap(client)
    assert index.tag == f"{{{NS['s']}}}sitemapindex"
    parts = locations(index)
    count = (len(whole) + 1) // 2
    assert parts == [f"{BASE}/sitemap-products-{n}.xml" for n in range(1, count + 1)]
    pieces = [locations(sitemap(client, url.removeprefix(BASE))) for url in parts]
    assert all(1 <= len(piece) <= 2 for piece in pieces)
    assert [url for piece in pieces for url in piece] == whole  # same URLs, same order
    beyond = client.get(f"/sitemap-products-{count + 1}.xml")
    assert "no sitemap part" in error_of(beyond, 404)
    assert client.get("/sitemap-products-0.xml").status_code == 422


def test_robots_txt_serves_the_setting_with_the_sitemap_line(
    client: TestClient, admin: Account
) -> None:
    served = client.get("/robots.txt")
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("text/plain")
    assert served.text == f"User-agent: *\nAllow: /\nSitemap: {BASE}/sitemap.xml\n"

    rules = "# keep out of the back office\r\nUser-agent: *\nDisallow: /api/admin/\n\n"
    set_setting(client, admin, "robots_txt", rules)
    try:
        assert client.get("/robots.txt").text == (
            "# keep out of the back office\nUser-agent: *\nDisallow: /api/admin/\n"
            f"Sitemap: {BASE}/sitemap.xml\n"
        )
        own = "User-agent: *\nDisallow:\nSitemap: https://cdn.example/sitemap.xml\n"
        set_setting(client, admin, "robots_txt", own)
        assert client.get("/robots.txt").text == own  # their Sitemap line, not a second one
        set_setting(client, admin, "robots_txt", "")
        assert client.get("/robots.txt").text == f"Sitemap: {BASE}/sitemap.xml\n"
    finally:
        set_setting(client, admin, "robots_txt", "User-agent: *\nAllow: /\n")


def test_the_seo_settings_refuse_wrong_values_naming_the_key(
    client: TestClient, admin: Account, moderator: Account, customer: Account
) -> None:
    listed = client.get("/api/admin/settings", headers=admin.auth).json()["settings"]
    assert listed["sitemap_include_products"]["default"] is True
    assert listed["robots_txt"]["default"] == "User-agent: *\nAllow: /\n"
    assert listed["seo_default_title"]["default"] == ""
    assert listed["jsonld_organization_custom"]["default"] is None

    refusals = [
        ("sitemap_include_products", "yes"),
        ("sitemap_include_products", 1),
        ("robots_txt", 42),
        ("robots_txt", ["User-agent: *"]),
        ("robots_txt", "User-agent: *\n<html><body>oops</body></html>"),
        ("robots_txt", "User-agent: *\nDisallow: /a\u2028b"),
        ("robots_txt", "# " + "x" * 10_000),
        ("seo_default_title", 5),
        ("seo_default_title", "x" * 121),
        ("seo_default_description", "two\nlines"),
        ("seo_default_description", "y" * 321),
        ("jsonld_organization_custom", "Organization"),
        ("jsonld_organization_custom", [{"@type": "Organization"}]),
        ("jsonld_organization_custom", {"name": "No type"}),
        ("jsonld_organization_custom", {"@type": "", "name": "Blank type"}),
        ("jsonld_organization_custom", {"@type": "Organization", "@context": "https://x.io"}),
        ("jsonld_organization_custom", {"@type": "Organization", "a": [[[[[[[[["deep"]]]]]]]]]}),
        ("jsonld_organization_custom", {"@type": "Organization", "name": "z" * 10_000}),
    ]
    for key, value in refusals:
        assert error_of(put_setting(client, admin, key, value), 422).startswith(key), key
    bell = put_setting(client, admin, "robots_txt", "User-agent: *\x07")
    assert "control characters" in error_of(bell, 422)
    for who in (moderator, customer):
        response = client.put(
            "/api/admin/settings/robots_txt", headers=who.auth, json={"value": ""}
        )
        error_of(response, 403)
    assert client.get("/robots.txt").text.startswith("User-agent: *\nAllow: /\n")


def test_a_product_has_meta_tags_and_a_product_json_ld_priced_to_the_paisa(
    client: TestClient, admin: Account, shelf: str
) -> None:
    made = upload_model(
        client,
        admin,
        shelf,
        name="Fidget cube",
        price="1234.50",
        color="red",
        description="A cube that clicks.\n\nPrinted solid.",
    )
    set_meta(client, admin, made["id"], slug="fidget-cube", seo_title="Fidget cube in PLA")

    seo = seo_of(client, made["id"])
    assert seo_of(client, "fidget-cube") == seo  # by id or by slug, the same page
    url = f"{BASE}/product/fidget-cube"
    assert seo["id"] == made["id"] and seo["slug"] == "fidget-cube"
    assert seo["path"] == "/product/fidget-cube" and seo["canonical_url"] == url
    assert seo["title"] == "Fidget cube in PLA"
    assert seo["description"] == "A cube that clicks. Printed solid."
    graph = seo["open_graph"]
    assert graph["og:type"] == "product" and graph["og:url"] == url
    assert graph["og:title"] == "Fidget cube in PLA" and graph["og:site_name"] == "fabledger"
    assert graph["product:price:amount"] == "1234.50"
    assert graph["product:price:currency"] == "INR"
    assert "og:image" not in graph and seo["twitter"]["twitter:card"] == "summary"
    ld = seo["json_ld"]
    assert ld["@context"] == "https://schema.org" and ld["@type"] == "Product"
    assert ld["name"] == "Fidget cube" and ld["sku"] == made["id"] and ld["url"] == url
    assert ld["description"] == "A cube that clicks.\n\nPrinted solid."
    assert ld["category"] == "Desk toys" and ld["material"] == "PLA" and ld["color"] == "Red"
    shop = {"@type": "Organization", "name": "fabledger", "url": f"{BASE}/"}
    assert ld["brand"] == shop and ld["manufacturer"] == shop
    offer = ld["offers"]
    assert offer["@type"] == "Offer" and offer["priceCurrency"] == "INR"
    assert offer["price"] == "1234.50"  # a string, exact: never a float
    assert offer["availability"] == "https://schema.org/InStock" and offer["url"] == url
    assert offer["priceSpecification"]["valueAddedTaxIncluded"] is False
    assert "image" not in ld

    engine = upload_model(client, admin, shelf, name="Quoted vase")
    unpriced = seo_of(client, engine["id"])
    assert "offers" not in unpriced["json_ld"]
    assert "product:price:amount" not in unpriced["open_graph"]
    assert unpriced["title"] == "Quoted vase | fabledger"
    assert unpriced["canonical_url"] == f"{BASE}/product/{engine['id']}"
    assert unpriced["description"] == (
        "Quoted vase: 3D printed in PLA (Black), made to order by fabledger."
    )

    for paise, text in ((1, "0.01"), (10, "0.10"), (100_000_000, "1000000.00")):
        rupees = f"{paise // 100}.{paise % 100:02d}"
        priced = upload_model(client, admin, shelf, name=f"Priced {paise}", price=rupees)
        assert seo_of(client, priced["id"])["json_ld"]["offers"]["price"] == text


def test_a_preview_image_joins_the_tags_and_the_page(
    client: TestClient, admin: Account, shelf: str
) -> None:
    made = upload_model(client, admin, shelf, name="Pictured lamp", price="99")
    image = client.post(
        f"/api/admin/models/{made['id']}/image",
        headers=admin.auth,
        files={"image": ("lamp.png", picture("PNG", (64, 48)), "image/png")},
    )
    assert image.status_code == 200, image.text

    seo = seo_of(client, made["id"])
    src = f"{BASE}/api/models/{made['id']}/image"
    assert seo["open_graph"]["og:image"] == src
    assert seo["open_graph"]["og:image:width"] == "64"
    assert seo["twitter"]["twitter:card"] == "summary_large_image"
    assert seo["twitter"]["twitter:image"] == src
    assert seo["json_ld"]["image"] == [src]
    doc = page(client, made["id"])
    assert doc.xpath("//img/@src") == [src] and doc.xpath("//img/@alt") == ["Pictured lamp"]
    assert client.get(src.removeprefix(BASE)).status_code == 200  # anyone can fetch it


def test_the_product_page_carries_the_tags_the_seo_endpoint_gives(
    client: TestClient, admin: Account, shelf: str
) -> None:
    made = upload_model(client, admin, shelf, name="Cable tidy", price="49.90", color="blue")
    set_meta(client, admin, made["id"], slug="cable-tidy", seo_description="Tidy cables.")
    seo = seo_of(client, "cable-tidy")

    for ref in ("cable-tidy", made["id"]):
        doc = page(client, ref)
        assert doc.findtext(".//title") == "Cable tidy | fabledger"
        assert meta_of(doc, "name", "description") == "Tidy cables."
        assert doc.xpath('//link[@rel="canonical"]/@href') == [f"{BASE}/product/cable-tidy"]
        for key, value in seo["open_graph"].items():
            assert meta_of(doc, "property", key) == value
        for key, value in seo["twitter"].items():
            assert meta_of(doc, "name", key) == value
        (script,) = doc.xpath("//script")
        assert script.get("type") == "application/ld+json"
        assert json.loads(script.text) == seo["json_ld"]
        assert doc.findtext(".//h1") == "Cable tidy"
        assert "₹49.90 per copy, before GST" in doc.text_content()
        assert not doc.xpath("//img")  # no image: no <img>


def test_hostile_names_and_descriptions_stay_inert_text(
    client: TestClient, admin: Account, shelf: str
) -> None:
    description = 'Nice <img src=x onerror="alert(2)"> & </p><p>"quoted"'
    made = upload_model(client, admin, shelf, name=HOSTILE, description=description)
    set_meta(client, admin, made["id"], seo_title=f'"><script>alert(3)</script>{HOSTILE}')

    response = client.get(f"/product/{made['id']}")
    assert response.status_code == 200
    assert "<script>alert" not in response.text
    doc = lxml.html.document_fromstring(response.text)
    scripts = doc.xpath("//script")
    assert len(scripts) == 1 and scripts[0].get("type") == "application/ld+json"
    assert "</script" not in scripts[0].text and "<" not in scripts[0].text
    data = json.loads(scripts[0].text)
    assert data["name"] == HOSTILE and data["description"] == description
    assert doc.findtext(".//h1") == HOSTILE
    assert doc.findtext(".//title") == f'"><script>alert(3)</script>{HOSTILE}'
    assert not doc.xpath("//*[@onerror]") and not doc.xpath("//img")
    assert doc.xpath("//main/p")[0].text_content() == description
    assert seo_of(client, made["id"])["json_ld"]["name"] == HOSTILE  # JSON as it is


def test_models_that_are_not_approved_and_public_are_404_everywhere(
    client: TestClient, admin: Account, customer: Account, shelf: str
) -> None:
    hidden = upload_model(client, admin, shelf, name="Hidden lamp")
    set_meta(client, admin, hidden["id"], slug="hidden-lamp")
    moderate(client, admin, hidden["id"], is_public=False)
    withdrawn = upload_model(client, admin, shelf, name="Withdrawn lamp")
    moderate(client, admin, withdrawn["id"], is_approved=False)
    gone = upload_model(client, admin, shelf, name="Deleted lamp")
    set_meta(client, admin, gone["id"], slug="deleted-lamp")
    assert client.delete(f"/api/admin/models/{gone['id']}", headers=admin.auth).status_code == 200
    pending = share_model(client, customer, shelf, name="Waiting lamp")
    settle(client, pending["position"])

    refs = [hidden["id"], "hidden-lamp", withdrawn["id"], gone["id"], "deleted-lamp"]
    refs += [pending["id"], UNKNOWN, "no-such-product", "Not A Slug!", "x" * 100]
    for ref in refs:
        doc = page(client, ref, 404)
        assert doc.findtext(".//h1") == "Product not found"
        assert meta_of(doc, "name", "robots") == "noindex"
        assert error_of(client.get(f"/api/seo/product/{ref}"), 404) == "product not found"
    assert client.get(f"/product/{'x' * 101}").status_code == 422
    found = " ".join(locations(sitemap(client)))
    for unlisted in (hidden, withdrawn, gone, pending):
        assert unlisted["id"] not in found
    assert "hidden-lamp" not in found and "deleted-lamp" not in found
    # Shown again, it is back at once: pages read the model's stream, not a view.
    moderate(client, admin, hidden["id"], is_public=True)
    assert seo_of(client, "hidden-lamp")["id"] == hidden["id"]


def test_a_changed_slug_moves_the_canonical_url(
    client: TestClient, admin: Account, shelf: str
) -> None:
    made = upload_model(client, admin, shelf, name="Renamed hook")
    set_meta(client, admin, made["id"], slug="old-hook")
    set_meta(client, admin, made["id"], slug="new-hook")
    assert client.get("/product/old-hook").status_code == 404
    assert seo_of(client, made["id"])["canonical_url"] == f"{BASE}/product/new-hook"
    position = set_meta(client, admin, made["id"], slug=None)
    assert seo_of(client, made["id"])["canonical_url"] == f"{BASE}/product/{made['id']}"
    assert client.get("/product/new-hook").status_code == 404
    settle(client, position)
    assert f"{BASE}/product/{made['id']}" in locations(sitemap(client))


def test_the_site_meta_use_the_defaults_and_the_custom_organization(
    client: TestClient, admin: Account, shelf: str
) -> None:
    site = client.get("/api/seo/site").json()
    assert site["title"] == "fabledger: 3D printing on demand"
    assert "fabledger" in site["description"] and site["canonical_url"] == f"{BASE}/"
    assert site["open_graph"]["og:type"] == "website"
    assert site["json_ld"] == {
        "@context": "https://schema.org",
        "@type": "Organization",
        "name": "fabledger",
        "url": f"{BASE}/",
    }
    custom = {
        "@type": "Organization",
        "name": "Print Works </script>",
        "logo": f"{BASE}/logo.png",
        "sameAs": ["https://instagram.com/printworks"],
    }
    set_setting(client, admin, "seo_default_title", "  Print Works  ")
    set_setting(client, admin, "seo_default_description", "Parts, printed.")
    set_setting(client, admin, "jsonld_organization_custom", custom)
    try:
        site = client.get("/api/seo/site").json()
        assert site["title"] == "Print Works" and site["description"] == "Parts, printed."
        assert site["json_ld"] == {"@context": "https://schema.org", **custom}
        made = upload_model(client, admin, shelf, name="Branded clip", price="10")
        assert seo_of(client, made["id"])["json_ld"]["brand"] == custom
        (script,) = page(client, made["id"]).xpath("//script")
        assert json.loads(script.text)["manufacturer"] == custom
        missing = page(client, UNKNOWN, 404)
        assert missing.findtext(".//title") == "Product not found | fabledger"
    finally:
        set_setting(client, admin, "seo_default_title", "")
        set_setting(client, admin, "seo_default_description", None)
        set_setting(client, admin, "jsonld_organization_custom", None)
    assert client.get("/api/seo/site").json()["title"] == "fabledger: 3D printing on demand"


def test_every_kind_of_caller_gets_the_same_public_answers(
    client: TestClient, admin: Account, shelf: str
) -> None:
    made = upload_model(client, admin, shelf, name="Shared shelf")
    somebody = register(client, "crawler-owner")
    for headers in ({}, somebody.auth, admin.auth):
        assert client.get(f"/api/seo/product/{made['id']}", headers=headers).status_code == 200
        assert client.get(f"/product/{made['id']}", headers=headers).status_code == 200
        assert client.get("/robots.txt", headers=headers).status_code == 200
