"""Network security for admins: the CSP headers HTML answers get now, and the CORS state.

The settings themselves are shop settings (cors_allowed_origins, cors_enforced,
csp_extra_sources: PUT /api/admin/settings/{key}); domain/shop/network.py checks them,
api/cors.py and api/csp.py apply them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from api import csp
from api.deps import AdminReadDep, ContainerDep
from api.docs import redoc_page, swagger_page
from api.product_page import headers
from api.schemas.errors import STAFF, errors
from api.schemas.network_security import CspPreview
from domain.shop.network import NetworkSecurity

router = APIRouter(prefix="/api/admin", tags=["settings"], responses=errors(*STAFF))


# Not in the seed (its "Active CSP Preview"); admin:read like the settings it shows.
@router.get("/csp-preview", response_model=CspPreview)
def csp_preview(_: AdminReadDep, container: ContainerDep, request: Request) -> dict[str, Any]:
    """The Content-Security-Policy each kind of HTML answer gets now, built by the same
    functions that send it, and the CORS allowlist with its enforcement state."""
    network = NetworkSecurity.from_settings(container.shop.value)
    product = headers(container.seo.site())[csp.HEADER]
    pages = {
        "/docs": swagger_page(request.app, request).headers[csp.HEADER],
        "/redoc": redoc_page(request.app, request).headers[csp.HEADER],
        "/product/{model_id}": product,
    }
    return {
        "content_security_policy": csp.completed(None, network),
        "pages": {path: csp.completed(header, network) for path, header in pages.items()},
        "cors_enforced": network.enforced,
        "allowed_origins": list(network.origins),
    }
