"""Search engine use cases: the shop's identity for pages, product pages by id or slug,
robots.txt and what the sitemap includes.

Product pages read the catalog's streams, not the catalog view: a model hidden a moment
ago is gone from its page at once, and the preview image (not in the view) is at hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from application.catalog import CatalogApp
from domain.catalog_models import MAX_SLUG, SLUG, CatalogModel
from domain.catalog_slugs import SlugClaim, slug_claim_id
from domain.errors import NotFound
from domain.fleet.categories import Category
from domain.seo import (
    DESCRIPTION_SETTING,
    ORGANIZATION_SETTING,
    ROBOTS_SETTING,
    SITEMAP_SETTING,
    TITLE_SETTING,
    PageMeta,
    Product,
    Site,
    product_meta,
    robots_body,
    site_meta,
)
from domain.shop.site_content import COMPANY

NOT_FOUND = "product not found"


class ShopSettings(Protocol):
    """The shop's settings by key (application.shop.ShopApp)."""

    def value(self, key: str) -> Any:
        """The current value of one key."""
        ...


@dataclass(frozen=True)
class ProductPage:
    """A listed product, the shop it belongs to, and its page's meta tags and JSON-LD."""

    product: Product
    site: Site
    meta: PageMeta


class SeoPages:
    """What search engines are told about the shop and its catalog."""

    def __init__(self, catalog: CatalogApp, shop: ShopSettings, public_url: str) -> None:
        self.catalog = catalog
        self.shop = shop
        self.base_url = public_url.rstrip("/")

    def shop_name(self) -> str:
        """The shop's name, as the store profile (company_info) sets it."""
        return str(self.shop.value(COMPANY)["name"])

    def site(self) -> Site:
        """The shop's identity and SEO settings, as every page presents them."""
        return Site(
            name=self.shop_name(),
            base_url=self.base_url,
            title=str(self.shop.value(TITLE_SETTING) or ""),
            description=str(self.shop.value(DESCRIPTION_SETTING) or ""),
            organization=self.shop.value(ORGANIZATION_SETTING),
        )

    def home(self) -> PageMeta:
        """The home page's meta tags and Organization JSON-LD."""
        return site_meta(self.site())

    def product(self, ref: str) -> ProductPage:
        """The page of an approved public model, by id or by slug; NotFound for any other."""
        model = self._listed(ref)
        if model is None:
            raise NotFound(NOT_FOUND)
        details = model.current
        product = Product(
            id=str(model.id),
            name=details.name,
            description=details.description,
            category=self._category_name(details.category_id),
            material=details.material,
            color=details.color,
            price_paise=details.price_paise,
            seo_title=str(model.meta.get("seo_title") or ""),
            seo_description=str(model.meta.get("seo_description") or ""),
            slug=model.slug,
            image=model.preview_image,
        )
        site = self.site()
        return ProductPage(product, site, product_meta(product, site))

    def robots(self) -> str:
        """robots.txt: the configured directives with the sitemap's line."""
        return robots_body(str(self.shop.value(ROBOTS_SETTING)), f"{self.base_url}/sitemap.xml")

    def lists_products(self) -> bool:
        """Whether the sitemap lists the catalog's products (else only the home page)."""
        return bool(self.shop.value(SITEMAP_SETTING))

    def _listed(self, ref: str) -> CatalogModel | None:
        """The listed model an id names, else the one holding the slug (an id wins: a slug
        may look like an id, and ids never change)."""
        try:
            model_id: UUID | None = UUID(ref)
        except ValueError:
            model_id = None
        if model_id is not None:
            model = self.catalog.find(model_id, CatalogModel)
            if model is not None and model.listed:
                return model
        if len(ref) > MAX_SLUG or not SLUG.match(ref):
            return None
        claim = self.catalog.find(slug_claim_id(ref), SlugClaim)
        if claim is None or claim.model_id is None:
            return None
        model = self.catalog.find(UUID(claim.model_id), CatalogModel)
        return model if model is not None and model.listed else None

    def _category_name(self, category_id: str) -> str:
        category = self.catalog.find(UUID(category_id), Category)
        return "" if category is None or category.deleted else category.current.name
