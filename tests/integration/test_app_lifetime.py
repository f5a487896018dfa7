"""Story: an app that was served and closed leaves nothing behind in the process.

Whatever module-level state the app's parts keep (caches, registries, metrics, loggers)
must not hold the app: a test process builds hundreds, and every one kept alive made the
garbage collector's full passes slower, up to seconds mid-request.
"""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from fastapi import FastAPI

from infra.bootstrap import Container
from tests.support.app_lifetime import forget_endpoints
from tests.support.http import app_settings, place_order, register, running_app


def _serve_and_close(data_dir: Path) -> tuple[weakref.ref[FastAPI], weakref.ref[Container]]:
    """Serve the usual paths (docs, metrics, a sign-up, an order) and close the app."""
    with running_app(app_settings(data_dir)) as client:
        for path in ("/docs", "/redoc", "/openapi.json", "/metrics", "/api/health"):
            assert client.get(path).status_code == 200, path
        place_order(client, register(client, "leaver"))
        app = client.app
        assert isinstance(app, FastAPI)
        return weakref.ref(app), weakref.ref(app.state.container)


def test_a_closed_app_is_freed(tmp_path: Path) -> None:
    app, container = _serve_and_close(tmp_path)
    assert forget_endpoints() > 0  # the library's caches did hold this app's endpoints
    gc.collect()
    assert app() is None, [type(r).__qualname__ for r in gc.get_referrers(app())]
    assert container() is None, [type(r).__qualname__ for r in gc.get_referrers(container())]
