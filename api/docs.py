"""Swagger UI (/docs) and ReDoc (/redoc) from installed assets: no CDN, works offline.

Each page carries the DOCS Content-Security-Policy (api/csp.py): Swagger UI's one inline
script is allowed by its hash, computed from the page as rendered.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

from api import csp

# The fastapi-offline wheel ships the Swagger UI and ReDoc bundles and a favicon as data.
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/docs-assets"


def _urls(app: FastAPI, request: Request) -> tuple[str, str]:
    # Behind a proxy prefix (root_path) the page must still find the schema and assets.
    root = request.scope.get("root_path", "")
    return f"{root}{app.openapi_url}", f"{root}{ASSETS_URL}"


def _with_policy(page: HTMLResponse) -> HTMLResponse:
    html = bytes(page.body).decode()
    page.headers[csp.HEADER] = csp.policy(
        csp.DOCS, also={"script-src": csp.inline_hashes(html, "script")}
    )
    return page


def swagger_page(app: FastAPI, request: Request) -> HTMLResponse:
    """The Swagger UI page, with its Content-Security-Policy."""
    openapi, assets = _urls(app, request)
    return _with_policy(
        get_swagger_ui_html(
            openapi_url=openapi,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon.png",
            swagger_ui_parameters=app.swagger_ui_parameters,
        )
    )


def redoc_page(app: FastAPI, request: Request) -> HTMLResponse:
    """The ReDoc page, with its Content-Security-Policy."""
    openapi, assets = _urls(app, request)
    return _with_policy(
        get_redoc_html(
            openapi_url=openapi,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{assets}/redoc.standalone.js",
            redoc_favicon_url=f"{assets}/favicon.png",
            with_google_fonts=False,  # fonts from Google would be the one request off the machine
        )
    )


def install_docs(app: FastAPI, docs_url: str = "/docs", redoc_url: str = "/redoc") -> None:
    """Add the docs pages to an app built with docs_url=None and redoc_url=None."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    @app.get(docs_url, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return swagger_page(app, request)

    @app.get(redoc_url, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        return redoc_page(app, request)
