"""What the storefront renders into a page's <head>: meta tags, Open Graph, Twitter, JSON-LD."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class PageSeo(BaseModel):
    """A page's title, description, canonical URL, link-preview tags and structured data."""

    title: str = Field(description="The <title>.")
    description: str = Field(description='<meta name="description">.')
    canonical_url: str = Field(description='<link rel="canonical">: absolute.')
    open_graph: dict[str, str] = Field(
        description='<meta property="..." content="...">, in order (og:* and product:*).'
    )
    twitter: dict[str, str] = Field(description='<meta name="..." content="...">, in order.')
    json_ld: dict[str, Any] = Field(
        description='For <script type="application/ld+json">: schema.org Organization (site)'
        " or Product (product; `offers` only when the model has a list price, in INR as an"
        ' exact decimal string such as "1234.50", before GST).'
    )


class ProductSeo(PageSeo):
    """A product page's meta tags, and where it lives."""

    id: str
    slug: str | None
    path: str = Field(description="The canonical path: /product/<slug>, else /product/<id>.")
