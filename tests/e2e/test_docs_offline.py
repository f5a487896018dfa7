"""Story: a developer on a machine with no internet opens /docs and /redoc and reads the API.

A real `fabledger serve` answers the pages; headless Chromium renders them with every host
name but 127.0.0.1 unresolvable, so a page that still fetched Swagger UI, ReDoc or a font
from a CDN would render no operations at all.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import missing_component
from tests.support.served import served

CHROMIUM_NAMES = ("chromium", "chromium-browser")
# Any off-machine URL in a page the server sends, e.g. a CDN's script or Google's fonts.
EXTERNAL_URL = re.compile(r"https?://", re.IGNORECASE)
# An asset the rendered page loads from elsewhere (links to a website are not assets).
EXTERNAL_ASSET = re.compile(r"<(?:script|link|img)\b[^>]*\b(?:src|href)=\"https?://", re.I)


@pytest.fixture(scope="module")
def chromium() -> str:
    """The Debian chromium binary."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    missing_component("chromium not found (apt-get install chromium)")


def rendered(chromium: str, url: str, profile: Path) -> str:
    """The page's DOM once its scripts ran, loaded with no way off this machine."""
    done = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",  # we may be root (CI is)
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # no internet
            f"--user-data-dir={profile}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def operations(schema: dict[str, Any]) -> list[tuple[str, str]]:
    """(path, summary) of every operation in the OpenAPI document."""
    return [(path, op["summary"]) for path, ops in schema["paths"].items() for op in ops.values()]


def test_swagger_ui_and_redoc_render_every_operation_without_internet(
    chromium: str, fabledger_command: list[str], served_env: dict[str, str], tmp_path: Path
) -> None:
    with served(fabledger_command, served_env, tmp_path / "server.log") as http:
        base = str(http.base_url).rstrip("/")
        schema = http.get("/openapi.json").json()
        pages = {name: http.get(f"/{name}") for name in ("docs", "redoc")}
        assets = re.findall(r'(?:src|href)="([^"]+)"', pages["docs"].text + pages["redoc"].text)
        served_assets = {url: http.get(url) for url in assets}
        swagger = rendered(chromium, f"{base}/docs", tmp_path / "profile-docs")
        redoc = rendered(chromium, f"{base}/redoc", tmp_path / "profile-redoc")

    for name, page in pages.items():
        assert page.status_code == 200, name
        assert not EXTERNAL_URL.search(page.text), (name, page.text)
    assert {url for url, got in served_assets.items() if got.status_code != 200} == set()
    assert any(url.endswith("swagger-ui-bundle.js") for url in served_assets)
    assert any(url.endswith("redoc.standalone.js") for url in served_assets)

    ops = operations(schema)
    assert ("/api/checkout", "Checkout") in ops
    assert not [p for p in schema["paths"] if p.startswith(("/docs", "/redoc"))]
    # Swagger UI draws each operation as a block carrying its path.
    assert [p for p, _ in ops if f'data-path="{html.escape(p)}"' not in swagger] == []
    # ReDoc lists each operation under its summary.
    assert [s for _, s in ops if html.escape(s) not in redoc] == []
    assert not EXTERNAL_ASSET.search(swagger)
    assert not EXTERNAL_ASSET.search(redoc)
