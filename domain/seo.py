"""Search engines: the SEO shop settings, and the meta tags, JSON-LD and sitemap arithmetic of
the shop's public pages (pure builders from value objects; no framework, no I/O).

Settings (shop settings, each change an event): `sitemap_include_products`, `robots_txt`
(directives as text; the Sitemap line is added when absent), `seo_default_title` and
`seo_default_description` (blank: generated from the shop's name) and
`jsonld_organization_custom` (null: the Organization schema is generated).

Product pages live at /product/<slug>, or /product/<id> while a model has no slug; the
canonical URL always names the slug when there is one. Prices are the model's list price
per copy before GST, as exact decimal strings ("1234.50"). A model the cost engine prices
(no list price) has no `offers`: a quote needs the customer's material, infill and
quantity, and a made-up "from" price would disagree with the checkout.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.errors import InvalidInput, NotFound
from domain.model_media import PreviewImage
from domain.money import from_paise
from domain.shop.settings import SettingSpec, boolean, register_setting

SHOP_NAME = "fabledger"  # until the site info (issue 12) names the shop
SCHEMA_ORG = "https://schema.org"
CURRENCY = "INR"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
# The sitemaps.org limit per file; above it /sitemap.xml becomes an index of parts.
URLS_PER_SITEMAP = 50_000
PRODUCT_PAGE = "/product/{ref}"
IMAGE_PATH = "/api/models/{id}/image"  # served publicly for listed models (model_media)
DESCRIPTION_LENGTH = 160  # what result pages show of a description

SITEMAP_SETTING = "sitemap_include_products"
ROBOTS_SETTING = "robots_txt"
TITLE_SETTING = "seo_default_title"
DESCRIPTION_SETTING = "seo_default_description"
ORGANIZATION_SETTING = "jsonld_organization_custom"

DEFAULT_ROBOTS = "User-agent: *\nAllow: /\n"
MAX_ROBOTS_CHARS = 10_000
MAX_TITLE = 120
MAX_DESCRIPTION = 320
MAX_ORGANIZATION_CHARS = 10_000
MAX_ORGANIZATION_DEPTH = 8
# RFC 9309 records ("User-agent: *", "Disallow: /x"), and the Sitemap and Crawl-delay extras.
_DIRECTIVE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*[ \t]*:")
_SCHEMA_ORG_CONTEXTS = ("https://schema.org", "http://schema.org")
_UTC_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?\+00:00$")


# Settings.


def robots_text(key: str, value: Any) -> str:
    """robots.txt directives: printable lines, each a `Field: value`, a # comment or blank."""
    if not isinstance(value, str):
        raise InvalidInput(f"{key}: must be text (the robots.txt directives)")
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > MAX_ROBOTS_CHARS:
        raise InvalidInput(f"{key}: at most {MAX_ROBOTS_CHARS} characters")
    lines = [line.rstrip() for line in text.split("\n")]
    for number, line in enumerate(lines, start=1):
        if not line.replace("\t", " ").isprintable():
            raise InvalidInput(f"{key}: line {number} holds a character that is not printable")
        bare = line.strip()
        if bare and not bare.startswith("#") and not _DIRECTIVE.match(bare):
            raise InvalidInput(
                f"{key}: line {number} is neither a 'Field: value' directive nor a # comment"
            )
    kept = "\n".join(lines).strip("\n")
    return f"{kept}\n" if kept else ""


def meta_text(most: int) -> Any:
    """A check for one line of printable text up to `most` characters; null or blank: auto."""

    def check(key: str, value: Any) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise InvalidInput(f"{key}: must be text (blank for the generated value)")
        text = value.strip()
        if not text.isprintable():
            raise InvalidInput(f"{key}: one line of printable text")
        if len(text) > most:
            raise InvalidInput(f"{key}: at most {most} characters")
        return text

    return check


def organization_schema(key: str, value: Any) -> dict[str, Any] | None:
    """A schema.org Organization as a JSON object (its @type named), or null for the
    generated one. Nesting and size are capped: it is sent with every product page."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput(f"{key}: must be a JSON object (a schema.org Organization) or null")
    kind = value.get("@type")
    if not isinstance(kind, str) or not kind.strip():
        raise InvalidInput(f'{key}: "@type" must name a schema.org type, e.g. "Organization"')
    context = value.get("@context", SCHEMA_ORG)
    if not isinstance(context, str) or context.rstrip("/") not in _SCHEMA_ORG_CONTEXTS:
        raise InvalidInput(f'{key}: "@context" must be "{SCHEMA_ORG}" (or left out)')
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:  # iterative: a deep document must be refused, not overflow the stack
        item, depth = stack.pop()
        if depth > MAX_ORGANIZATION_DEPTH:
            raise InvalidInput(f"{key}: nested deeper than {MAX_ORGANIZATION_DEPTH} levels")
        children = item.values() if isinstance(item, dict) else item
        if isinstance(item, dict | list):
            stack.extend((child, depth + 1) for child in children)
    try:
        size = len(json.dumps(value, allow_nan=False))
    except ValueError as error:
        raise InvalidInput(f"{key}: numbers must be finite") from error
    if size > MAX_ORGANIZATION_CHARS:
        raise InvalidInput(f"{key}: at most {MAX_ORGANIZATION_CHARS} characters as JSON")
    return value


for _key, _spec in {
    SITEMAP_SETTING: SettingSpec(
        True,
        "Sitemap & crawling: list every approved public catalog model in /sitemap.xml"
        " (at /product/<slug or id>); the home page is always listed.",
        boolean,
    ),
    ROBOTS_SETTING: SettingSpec(
        DEFAULT_ROBOTS,
        "The directives served at /robots.txt ('Field: value' lines and # comments); a"
        " Sitemap line pointing at /sitemap.xml is added unless the text has one.",
        robots_text,
    ),
    TITLE_SETTING: SettingSpec(
        "",
        "Default meta title of the home page and pages without product data; blank:"
        " generated from the shop's name.",
        meta_text(MAX_TITLE),
    ),
    DESCRIPTION_SETTING: SettingSpec(
        "",
        "Default meta description of the home page and pages without product data; blank:"
        " generated from the shop's name.",
        meta_text(MAX_DESCRIPTION),
    ),
    ORGANIZATION_SETTING: SettingSpec(
        None,
        "JSON-LD Organization schema (custom mode): a JSON object used as the shop's"
        " Organization on every page; null: generated from the shop's name and URL.",
        organization_schema,
    ),
}.items():
    register_setting(_key, _spec)


# Value objects.


@dataclass(frozen=True)
class Site:
    """The shop as pages present it: its name, public URL and the SEO settings."""

    name: str
    base_url: str  # the public URL, no trailing slash
    title: str = ""  # seo_default_title ("" : generated)
    description: str = ""  # seo_default_description ("" : generated)
    organization: dict[str, Any] | None = None  # jsonld_organization_custom

    def url(self, path: str) -> str:
        """An absolute URL of a path on the shop."""
        return f"{self.base_url}{path}"

    @property
    def default_title(self) -> str:
        """The home page's title."""
        return self.title or f"{self.name}: 3D printing on demand"

    @property
    def default_description(self) -> str:
        """The home page's description."""
        return self.description or (
            f"Upload a 3D model for an instant quote, or order a ready-made design from the"
            f" {self.name} catalog: printed to order."
        )


@dataclass(frozen=True)
class Product:
    """An approved public catalog model, as its product page shows it."""

    id: str
    name: str
    description: str
    category: str  # the category's name ("" when it is gone)
    material: str
    color: str
    price_paise: int | None  # None: priced by the cost engine
    seo_title: str = ""
    seo_description: str = ""
    slug: str | None = None
    image: PreviewImage | None = None

    @property
    def path(self) -> str:
        """The canonical path of its page: the slug's, else the id's."""
        return product_path(self.id, self.slug)


@dataclass(frozen=True)
class PageMeta:
    """What a page's <head> says to search engines and link previews."""

    title: str
    description: str
    canonical_url: str
    open_graph: dict[str, str]  # og:* and product:* properties, in order
    twitter: dict[str, str]  # twitter:* names, in order
    json_ld: dict[str, Any]


# Builders.


def product_path(model_id: str, slug: str | None) -> str:
    """/product/<slug>, or /product/<id> while the model has none."""
    return PRODUCT_PAGE.format(ref=slug or model_id)


def price_text(paise: int) -> str:
    """Exact rupees with two decimals, as schema.org prices are written ("1234.50")."""
    return str(from_paise(paise))


def summary(text: str, most: int = DESCRIPTION_LENGTH) -> str:
    """Whitespace collapsed, cut at a word boundary with an ellipsis when too long."""
    flat = " ".join(text.split())
    if len(flat) <= most:
        return flat
    cut = flat[: most - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:.-") + "…"


def organization(site: Site) -> dict[str, Any]:
    """The shop as a schema.org Organization (no @context: it is embedded or given one)."""
    if site.organization is not None:
        return {k: v for k, v in site.organization.items() if k != "@context"}
    return {"@type": "Organization", "name": site.name, "url": site.url("/")}


def site_meta(site: Site) -> PageMeta:
    """The home page's (and any page without product data's) meta tags and JSON-LD."""
    url = site.url("/")
    title, description = site.default_title, site.default_description
    return PageMeta(
        title=title,
        description=description,
        canonical_url=url,
        open_graph={
            "og:type": "website",
            "og:site_name": site.name,
            "og:title": title,
            "og:description": description,
            "og:url": url,
        },
        twitter={
            "twitter:card": "summary",
            "twitter:title": title,
            "twitter:description": description,
        },
        json_ld={"@context": SCHEMA_ORG, **organization(site)},
    )


def product_meta(product: Product, site: Site) -> PageMeta:
    """A product page's title, description, canonical URL, Open Graph, Twitter and JSON-LD."""
    url = site.url(product.path)
    title = product.seo_title or f"{product.name} | {site.name}"
    description = meta_description(product, site)
    image = site.url(IMAGE_PATH.format(id=product.id)) if product.image else None
    graph = {
        "og:type": "product",
        "og:site_name": site.name,
        "og:title": title,
        "og:description": description,
        "og:url": url,
    }
    twitter = {
        "twitter:card": "summary_large_image" if image else "summary",
        "twitter:title": title,
        "twitter:description": description,
    }
    if image and product.image:
        graph |= {
            "og:image": image,
            "og:image:type": product.image.content_type,
            "og:image:width": str(product.image.width),
            "og:image:height": str(product.image.height),
            "og:image:alt": product.name,
        }
        twitter |= {"twitter:image": image, "twitter:image:alt": product.name}
    if product.price_paise is not None:
        graph |= {
            "product:price:amount": price_text(product.price_paise),
            "product:price:currency": CURRENCY,
        }
    return PageMeta(title, description, url, graph, twitter, product_jsonld(product, site))


def product_jsonld(product: Product, site: Site) -> dict[str, Any]:
    """The schema.org Product: the shop as brand and manufacturer, the list price as Offer."""
    url = site.url(product.path)
    shop = organization(site)
    data: dict[str, Any] = {
        "@context": SCHEMA_ORG,
        "@type": "Product",
        "name": product.name,
        "description": product.description or meta_description(product, site),
        "sku": product.id,
        "url": url,
    }
    if product.image:
        data["image"] = [site.url(IMAGE_PATH.format(id=product.id))]
    if product.category:
        data["category"] = product.category
    data |= {"material": product.material, "brand": shop, "manufacturer": shop}
    if product.color:
        data["color"] = product.color
    if product.price_paise is not None:
        price = price_text(product.price_paise)
        data["offers"] = {
            "@type": "Offer",
            "priceCurrency": CURRENCY,
            "price": price,
            # The list price is before GST: said so, rather than left for a reader to assume.
            "priceSpecification": {
                "@type": "UnitPriceSpecification",
                "price": price,
                "priceCurrency": CURRENCY,
                "valueAddedTaxIncluded": False,
            },
            "availability": f"{SCHEMA_ORG}/InStock",  # printed to order: never out of stock
            "itemCondition": f"{SCHEMA_ORG}/NewCondition",
            "url": url,
        }
    return data


def meta_description(product: Product, site: Site) -> str:
    """The SEO description, else the model's own (summarised), else one made from its facts."""
    color = f" ({product.color})" if product.color else ""
    return (
        product.seo_description
        or summary(product.description)
        or summary(
            f"{product.name}: 3D printed in {product.material}{color},"
            f" made to order by {site.name}."
        )
    )


def robots_body(directives: str, sitemap_url: str) -> str:
    """The served robots.txt: the directives, with a Sitemap line unless they have one."""
    lines = directives.splitlines()
    if any(line.strip().lower().startswith("sitemap:") for line in lines):
        return directives
    return "".join(f"{line}\n" for line in [*lines, f"Sitemap: {sitemap_url}"])


def w3c_datetime(iso: str) -> str:
    """A stored ISO timestamp as a sitemap <lastmod>: UTC, whole seconds."""
    if _UTC_ISO.match(iso):  # what the views store: cut, not parsed (50,000 per sitemap)
        return f"{iso[:19]}+00:00"
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


# Sitemaps.


@dataclass(frozen=True)
class SitemapPart:
    """One sitemap file's share of the URLs: the home page or not, then products."""

    home: bool
    skip: int  # listed products before this part's first
    take: int  # products in this part


@dataclass(frozen=True)
class SitemapPlan:
    """How the home page and `products` product URLs split into files of `per_file`."""

    products: int
    per_file: int

    @property
    def parts(self) -> int:
        """How many sitemap files: one unless the URLs exceed a file's limit."""
        return math.ceil((self.products + 1) / self.per_file)

    @property
    def indexed(self) -> bool:
        """Whether /sitemap.xml is an index of parts rather than the one sitemap."""
        return self.parts > 1

    def part(self, number: int) -> SitemapPart:
        """Part `number` (from 1): the home page is the first URL of the first part."""
        if not 1 <= number <= self.parts:
            raise NotFound(f"no sitemap part {number}; there are {self.parts}")
        start = (number - 1) * self.per_file
        end = min(number * self.per_file, self.products + 1)
        first = max(start, 1)
        return SitemapPart(home=start == 0, skip=first - 1, take=end - first)


def sitemap_plan(products: int) -> SitemapPlan:
    """The plan for this many listed products (read at call time: tests lower the limit)."""
    return SitemapPlan(products, URLS_PER_SITEMAP)
