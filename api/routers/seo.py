"""Search engines: /robots.txt, /sitemap.xml (and its parts), the crawlers' /product page,
and the meta tags and JSON-LD the storefront renders (/api/seo/...).

Decided here (the seed names /sitemap.xml, /robots.txt and /product/:id): a product is
addressed by id or by slug at /product/{model_id} and /api/seo/product/{model_id} (an id
wins when a slug looks like one); its canonical URL names the slug when it has one. Models
that are not approved and public are 404 everywhere (an HTML page on /product). Above
50,000 URLs /sitemap.xml is an index of /sitemap-products-<n>.xml parts (the home page is
the first URL of part 1). These routes are in the OpenAPI document with their real content
types; the non-/api ones are not rate limited (crawlers share addresses).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import HTMLResponse, PlainTextResponse, Response, StreamingResponse

from api.deps import ContainerDep
from api.product_page import headers, render_not_found, render_product
from api.schemas.errors import ANY, DESCRIPTIONS, errors
from api.schemas.seo import PageSeo, ProductSeo
from api.sitemaps import MEDIA_TYPE, sitemap_index, urlset
from domain.errors import NotFound
from domain.seo import PRODUCT_PAGE, SitemapPart, sitemap_plan
from infra.bootstrap import Container
from projections.seo import count_listed, listed_models

router = APIRouter(tags=["search engines"])

# Crawlers fetch these often; a settings change reaches them within five minutes.
CACHE = {"Cache-Control": "public, max-age=300"}
MAX_PARTS = 100_000
ModelRef = Annotated[
    str, Path(min_length=1, max_length=100, description="The model's id, or its slug.")
]
Part = Annotated[int, Path(ge=1, le=MAX_PARTS, description="From 1, as the index lists them.")]
_TEXT: dict[str, Any] = {"schema": {"type": "string"}}
_XML: dict[str, Any] = {MEDIA_TYPE: _TEXT}
_HTML: dict[str, Any] = {"text/html": _TEXT}
_JSON_ERROR: dict[str, Any] = {
    "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
}


class XmlResponse(Response):
    media_type = MEDIA_TYPE


def answer(description: str, content: dict[str, Any]) -> dict[str, Any]:
    """One documented answer with its media types."""
    return {"description": description, "content": content}


def json_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """errors() for a route whose success is not JSON: its failures still are ({"error"}),
    and FastAPI would label a `model` with the route's own media type."""
    return {status: answer(DESCRIPTIONS[status], _JSON_ERROR) for status in sorted(set(statuses))}


def _plan_part(container: Container, number: int) -> tuple[int, SitemapPart]:
    """How many parts, and this one's share of the URLs (NotFound past the last)."""
    products = 0
    if container.seo.lists_products():
        with container.views.reading() as cur:
            products = count_listed(cur)
    plan = sitemap_plan(products)
    return plan.parts, plan.part(number)


def _stream(container: Container, part: SitemapPart) -> StreamingResponse:
    site = container.seo.site()
    batches = listed_models(container.views, part.skip, part.take)
    chunks = urlset(site.url("/") if part.home else None, batches, site.url(PRODUCT_PAGE))
    return StreamingResponse(chunks, media_type=MEDIA_TYPE, headers=CACHE)


@router.get("/robots.txt", response_class=PlainTextResponse, responses=json_errors(*ANY))
def robots(container: ContainerDep) -> PlainTextResponse:
    """Crawler directives (shop setting robots_txt) and the sitemap's location."""
    return PlainTextResponse(container.seo.robots(), headers=CACHE)


@router.get(
    "/sitemap.xml",
    response_class=XmlResponse,
    response_model=None,
    responses={
        200: answer("A urlset, or a sitemapindex above 50,000 URLs.", _XML),
        **json_errors(*ANY),
    },
)
def sitemap(container: ContainerDep) -> Response:
    """The home page and every approved public model at /product/<slug or id>, with
    <lastmod> (the models unless the setting sitemap_include_products is off)."""
    parts, first = _plan_part(container, 1)
    if parts == 1:
        return _stream(container, first)
    site = container.seo.site()
    locations = (site.url(f"/sitemap-products-{n}.xml") for n in range(1, parts + 1))
    return XmlResponse(sitemap_index(locations), headers=CACHE)


@router.get(
    "/sitemap-products-{part}.xml",
    response_class=XmlResponse,
    response_model=None,
    responses={
        200: answer("A urlset of at most 50,000 URLs.", _XML),
        **json_errors(*ANY, 404),
    },
)
def sitemap_part(part: Part, container: ContainerDep) -> Response:
    """One part of a large sitemap (404 past the last part)."""
    return _stream(container, _plan_part(container, part)[1])


@router.get(
    "/product/{model_id}",
    response_class=HTMLResponse,
    responses={
        200: answer("The product's page.", _HTML),
        **json_errors(*ANY),
        404: answer(
            "No approved public model with this id or slug (an HTML page; a path no route"
            " serves is the JSON error).",
            {**_HTML, **_JSON_ERROR},
        ),
    },
)
def product_page(model_id: ModelRef, container: ContainerDep) -> HTMLResponse:
    """A minimal server-rendered page for crawlers: title, description, canonical link,
    Open Graph and Twitter tags, the Product JSON-LD, name, image, description, price."""
    seo = container.seo
    try:
        page = seo.product(model_id)
    except NotFound:
        site = seo.site()
        missing = render_not_found(site, seo.home())
        return HTMLResponse(missing, status_code=404, headers=headers(site))
    return HTMLResponse(
        render_product(page), headers={**headers(page.site), "Cache-Control": "no-cache"}
    )


@router.get("/api/seo/site", response_model=PageSeo, responses=errors(*ANY))
def site_seo(container: ContainerDep) -> dict[str, Any]:
    """The home page's (and pages without product data's) meta tags and Organization
    JSON-LD: the settings' defaults, else generated from the shop's name."""
    return vars(container.seo.home())


@router.get("/api/seo/product/{model_id}", response_model=ProductSeo, responses=errors(*ANY, 404))
def product_seo(model_id: ModelRef, container: ContainerDep) -> dict[str, Any]:
    """A product page's meta tags and Product JSON-LD, by the model's id or slug."""
    page = container.seo.product(model_id)
    product = page.product
    return {**vars(page.meta), "id": product.id, "slug": product.slug, "path": product.path}
