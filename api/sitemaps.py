"""Sitemap XML (sitemaps.org 0.9), written incrementally with lxml's xmlfile: the library
escapes every text, and a 50,000-URL file streams out in chunks instead of being built
whole in memory.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator

from lxml import etree

from domain.seo import SITEMAP_NS, w3c_datetime
from projections.seo import ListedModel

MEDIA_TYPE = "application/xml"
_URLSET, _URL, _LOC, _LASTMOD = (
    f"{{{SITEMAP_NS}}}{t}" for t in ("urlset", "url", "loc", "lastmod")
)
_INDEX, _SITEMAP = (f"{{{SITEMAP_NS}}}{t}" for t in ("sitemapindex", "sitemap"))


def _url(xf: etree.xmlfile, loc: str, lastmod: str | None = None) -> None:
    with xf.element(_URL):
        with xf.element(_LOC):
            xf.write(loc)
        if lastmod:
            with xf.element(_LASTMOD):
                xf.write(lastmod)


def urlset(
    home: str | None, batches: Iterable[list[ListedModel]], product_url: str
) -> Iterator[bytes]:
    """A <urlset>: the home page (when given), then one <url> per model, a chunk per batch.

    `product_url` is a format string with {ref} (the slug, else the id).
    """
    buffer = io.BytesIO()
    with etree.xmlfile(buffer, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(_URLSET, nsmap={None: SITEMAP_NS}):
            if home is not None:
                _url(xf, home)
            for batch in batches:
                for model in batch:
                    ref = model.slug or model.id
                    _url(xf, product_url.format(ref=ref), w3c_datetime(model.updated_at))
                xf.flush()
                yield _drain(buffer)
    yield _drain(buffer)


def sitemap_index(locations: Iterable[str]) -> bytes:
    """A <sitemapindex> of these sitemap files."""
    buffer = io.BytesIO()
    with etree.xmlfile(buffer, encoding="UTF-8") as xf:
        xf.write_declaration()
        with xf.element(_INDEX, nsmap={None: SITEMAP_NS}):
            for location in locations:
                with xf.element(_SITEMAP), xf.element(_LOC):
                    xf.write(location)
    return buffer.getvalue()


def _drain(buffer: io.BytesIO) -> bytes:
    data = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return data
