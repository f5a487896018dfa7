"""The minimal server-rendered product page for crawlers (and its 404 page).

Every text is HTML-escaped (html.escape, quotes too); the JSON-LD is JSON with `<`, `>`
and `&` written as \\u escapes, so no value can close its <script> element. The page runs
nothing: its Content-Security-Policy allows images from the shop and nothing else.
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import urlsplit

from api import csp
from application.seo import ProductPage
from domain.seo import IMAGE_PATH, PageMeta, Site, price_text


def headers(site: Site) -> dict[str, str]:
    """Security headers of both pages: no scripts, styles, frames or forms; images from
    the shop (its public URL's origin, where the page links them). The CSP middleware adds
    the admin's extra image sources (api/csp.py)."""
    parts = urlsplit(site.base_url)
    origin = (f"{parts.scheme}://{parts.netloc}",) if parts.scheme and parts.netloc else ()
    return {
        csp.HEADER: csp.policy(csp.PAGE, also={"img-src": origin}),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def json_ld(data: dict[str, Any]) -> str:
    """JSON safe inside <script>: `<`, `>` and `&` as \\u escapes (still the same JSON)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _head(meta: PageMeta, *, robots: str | None = None) -> list[str]:
    lines = [
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(meta.title)}</title>",
        f'<meta name="description" content="{_e(meta.description)}">',
    ]
    if robots:
        lines.append(f'<meta name="robots" content="{_e(robots)}">')
    else:
        lines.append(f'<link rel="canonical" href="{_e(meta.canonical_url)}">')
    lines += [f'<meta property="{_e(k)}" content="{_e(v)}">' for k, v in meta.open_graph.items()]
    lines += [f'<meta name="{_e(k)}" content="{_e(v)}">' for k, v in meta.twitter.items()]
    lines.append(f'<script type="application/ld+json">{json_ld(meta.json_ld)}</script>')
    return lines


def _document(head: list[str], body: list[str]) -> str:
    start = ["<!DOCTYPE html>", '<html lang="en">', "<head>", *head, "</head>", "<body>"]
    return "\n".join([*start, "<main>", *body, "</main>", "</body>", "</html>", ""])


def render_product(page: ProductPage) -> str:
    """The product's page: head tags, its name, image, description, price and facts."""
    product, site = page.product, page.site
    body = [f"<h1>{_e(product.name)}</h1>"]
    if product.image:
        src = site.url(IMAGE_PATH.format(id=product.id))
        body.append(
            f'<img src="{_e(src)}" alt="{_e(product.name)}"'
            f' width="{product.image.width}" height="{product.image.height}">'
        )
    for paragraph in product.description.split("\n\n"):
        if paragraph.strip():
            body.append(f"<p>{_e(paragraph.strip())}</p>")
    if product.price_paise is None:
        price = "Priced at checkout from the model's size, your material, infill and quantity"
    else:
        price = f"₹{price_text(product.price_paise)} per copy, before GST"
    facts = [("Price", price), ("Material", product.material)]
    facts += [("Colour", product.color), ("Category", product.category)]
    body.append("<dl>")
    body += [f"<dt>{k}</dt><dd>{_e(v)}</dd>" for k, v in facts if v]
    body.append("</dl>")
    body.append(f'<p><a href="{_e(site.url("/"))}">{_e(site.name)}</a></p>')
    return _document(_head(page.meta), body)


def render_not_found(site: Site, home: PageMeta) -> str:
    """The 404 page: says so, is never indexed, and links home."""
    title = f"Product not found | {site.name}"
    meta = PageMeta(
        title=title,
        description="This product is not in the catalog.",
        canonical_url=home.canonical_url,
        open_graph={},
        twitter={},
        json_ld=home.json_ld,
    )
    body = [
        "<h1>Product not found</h1>",
        "<p>This product is not in the catalog (any more).</p>",
        f'<p><a href="{_e(site.url("/"))}">{_e(site.name)}</a></p>',
    ]
    return _document(_head(meta, robots="noindex"), body)
