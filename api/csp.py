"""Content-Security-Policy: the one builder of every policy the app sends, and the middleware
that puts one on every HTML answer.

Each kind of answer has a profile, what it needs and no more:

- HTML: any text/html answer without a policy of its own: everything from the shop only.
- DOCS: /docs and /redoc, from the bundled Swagger UI and ReDoc (api/docs.py): their scripts
  and styles from the shop, Swagger UI's one inline script by its hash, ReDoc's styles
  inline (styled-components writes <style> elements as it renders), icons as data: URLs
  and ReDoc's search worker from a blob: URL.
- PAGE: the crawlers' product page and its 404 (api/product_page.py): nothing runs; images
  from the shop (and its public URL's origin, where the page links them).
- FILE: a file opened directly, e.g. a preview image (model_media): nothing at all.

The admin's `csp_extra_sources` (domain/shop/network.py) are added by the middleware to
every HTML answer's policy, where the page already loads that kind of resource: a directive
a page closes ('none', or no directive under default-src 'none') stays closed. So a route
sets its profile's policy and the middleware completes it; GET /api/admin/csp-preview
shows the results through the same functions. Non-HTML answers keep what their route set
(a JSON body runs nothing; a policy on it would be noise).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.cors import CurrentNetwork
from domain.shop.network import CSP_DIRECTIVES, NetworkSecurity

HEADER = "Content-Security-Policy"
SELF, NONE = "'self'", "'none'"
HTML, DOCS, PAGE, FILE = "html", "docs", "page", "file"

Directives = dict[str, tuple[str, ...]]

PROFILES: dict[str, Directives] = {
    HTML: {
        "default-src": (SELF,),
        "object-src": (NONE,),
        "base-uri": (SELF,),
        "form-action": (SELF,),
        "frame-ancestors": (NONE,),
    },
    DOCS: {
        "default-src": (SELF,),
        "script-src": (SELF,),
        "style-src": (SELF, "'unsafe-inline'"),
        "img-src": (SELF, "data:"),
        "worker-src": (SELF, "blob:"),
        "object-src": (NONE,),
        "base-uri": (SELF,),
        "form-action": (SELF,),
        "frame-ancestors": (NONE,),
    },
    PAGE: {
        "default-src": (NONE,),
        "img-src": (SELF,),
        "base-uri": (NONE,),
        "form-action": (NONE,),
        "frame-ancestors": (NONE,),
    },
    FILE: {"default-src": (NONE,)},
}
# <script> or <style> elements whose text runs inline (a <script src> has none).
_INLINE = re.compile(r"<(script|style)(\s[^>]*)?>(.*?)</\1\s*>", re.DOTALL | re.IGNORECASE)
_SRC = re.compile(r"\ssrc\s*=", re.IGNORECASE)


def render(directives: Mapping[str, Sequence[str]]) -> str:
    """The header value: `name source ...` joined by '; '."""
    return "; ".join(" ".join((name, *sources)) for name, sources in directives.items())


def parse(header: str) -> Directives:
    """A policy header back into directives (a repeated directive: the first counts)."""
    directives: Directives = {}
    for part in header.split(";"):
        words = part.split()
        if words and words[0].lower() not in directives:
            directives[words[0].lower()] = tuple(words[1:])
    return directives


def with_sources(directives: Directives, extra: Mapping[str, Sequence[str]]) -> Directives:
    """The extra sources added to each fetch directive the policy opens: to its own sources,
    or to default-src's when it has none. A closed directive ('none') stays closed, and so
    does every directive when default-src is closed or absent (adding would narrow it)."""
    merged = dict(directives)
    fallback = directives.get("default-src")
    for name in CSP_DIRECTIVES:
        sources = extra.get(name, ())
        own = directives.get(name, fallback)
        if not sources or own is None or own == (NONE,):
            continue
        merged[name] = (*own, *(s for s in sources if s not in own))
    return merged


def policy(
    profile: str,
    extra: Mapping[str, Sequence[str]] | None = None,
    *,
    also: Mapping[str, Sequence[str]] | None = None,
) -> str:
    """A profile's policy: `also` adds what one answer needs (a hash, the shop's public
    origin) to directives the profile names; `extra` adds the admin's sources."""
    directives = dict(PROFILES[profile])
    for name, sources in (also or {}).items():
        own = directives[name]
        directives[name] = (*own, *(s for s in sources if s not in own))
    return render(with_sources(directives, extra or {}))


def completed(header: str | None, network: NetworkSecurity) -> str:
    """An HTML answer's policy as sent: its route's (or the HTML profile's), with the
    admin's extra sources."""
    directives = parse(header) if header else dict(PROFILES[HTML])
    return render(with_sources(directives, network.extra_sources))


def inline_hashes(html: str, element: str = "script") -> tuple[str, ...]:
    """'sha256-...' sources of a page's inline <script> (or <style>) texts, in order."""
    hashes = []
    for match in _INLINE.finditer(html):
        tag, attributes, text = match.groups()
        if tag.lower() == element and not _SRC.search(attributes or ""):
            digest = hashlib.sha256(text.encode()).digest()
            hashes.append(f"'sha256-{base64.b64encode(digest).decode()}'")
    return tuple(dict.fromkeys(hashes))


def _is_html(message: Message) -> bool:
    """Whether an answer's (first) Content-Type is text/html: read off the raw headers, so a
    JSON answer costs no MutableHeaders."""
    for name, value in message["headers"]:
        if name == b"content-type":  # raw names are lower case (Headers compares them as-is)
            return bool(value.lower().startswith(b"text/html"))
    return False


class HtmlPolicy:
    """Completes (or adds) the Content-Security-Policy of every text/html answer."""

    def __init__(self, app: ASGIApp, network: CurrentNetwork) -> None:
        self.app = app
        self.network = network

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start" and _is_html(message):
                headers = MutableHeaders(scope=message)
                container = getattr(scope["app"].state, "container", None)
                network = await self.network.get(container) if container else NetworkSecurity()
                headers[HEADER] = completed(headers.get(HEADER), network)
            await send(message)

        await self.app(scope, receive, send_with_policy)
