"""The FastAPI application: lifespan builds the container; routers do the rest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import Depends, FastAPI

from api.access_log import PatAccessLog
from api.cors import CurrentNetwork, ShopCors
from api.csp import HtmlPolicy
from api.docs import install_docs
from api.errors import install_error_handlers
from api.key_auth import document_key_schemes
from api.metrics import install_metrics
from api.middleware import BodyLimit, OpenCors, RequestContext
from api.rate_limit import install_rate_limits
from api.routers import (
    admin_models,
    admin_payments,
    admin_tokens,
    admin_users,
    auth,
    cart_checkout,
    catalog,
    catalog_models,
    checkout,
    contact,
    cost_settings,
    coupons,
    customer_orders,
    event_contract,
    fleet_categories,
    fleet_materials,
    fleet_printers,
    health,
    invoices,
    mail_delivery,
    model_media,
    network_security,
    order_groups,
    orgs,
    payments,
    pincodes,
    promos,
    quotes,
    rate_limiter,
    seo,
    shipping_partners,
    shop_settings,
    site_content,
    slicing,
    staff_orders,
    stats,
    two_factor,
    user_addresses,
    user_profile,
    v1_catalog,
    v1_dfm,
    v1_keys,
    v1_usage,
)
from api.text import refuse_control_characters
from infra.bootstrap import Container, bootstrap_when_ready
from infra.logging import configure_logging
from infra.settings import Settings


def create_app(
    settings: Settings | None = None, container: Container | None = None, instrument: bool = True
) -> FastAPI:
    """Build the app; pass a container to share one (tests), or settings to build one.

    instrument=False leaves out /metrics and the body caps: only benchmarks' baseline does.
    """
    settings = settings or (container.settings if container else Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = container is None
        app.state.container = container or bootstrap_when_ready(settings)
        if settings.mail_driver == "console":  # the one place secrets reach a log, by design
            structlog.get_logger("fabledger.mail").warning(
                "mail_driver_console",
                note="mails are printed whole to this log, reset and verification links"
                " included, unless the admin's mail_delivery setting sends them; set it (or"
                " FABLEDGER_MAIL_DRIVER=smtp) to send them instead",
            )
        if owned and settings.projections_in_process:
            app.state.container.start_projections()
        elif owned:  # the views are folded elsewhere; the flows run here (one process each)
            app.state.container.start_flows()
        try:
            yield
        finally:
            if owned:
                app.state.container.close()

    configure_logging(json_lines=settings.env == "production", level=settings.log_level)
    app = FastAPI(
        title="fabledger",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(refuse_control_characters)],  # every route, present and future
    )
    install_docs(app)  # served from installed assets, not a CDN
    install_error_handlers(app)
    for router in (
        health.router,
        auth.router,
        two_factor.router,
        user_profile.router,
        user_addresses.router,
        catalog.router,
        catalog_models.router,
        admin_models.admin_router,
        admin_models.moderator_router,
        model_media.router,
        model_media.admin_router,
        fleet_materials.admin_router,
        fleet_materials.moderator_router,
        fleet_printers.public_router,
        fleet_printers.admin_router,
        fleet_printers.moderator_router,
        fleet_categories.public_router,
        fleet_categories.admin_router,
        fleet_categories.moderator_router,
        quotes.router,
        pincodes.router,
        shipping_partners.admin_router,
        shipping_partners.moderator_router,
        checkout.router,
        cart_checkout.router,
        order_groups.router,
        order_groups.admin_router,
        order_groups.moderator_router,
        payments.router,
        admin_payments.router,
        invoices.router,
        customer_orders.router,
        staff_orders.admin_router,
        staff_orders.moderator_router,
        slicing.router,
        slicing.admin_router,
        slicing.moderator_router,
        contact.router,
        contact.admin_router,
        contact.moderator_router,
        stats.router,
        admin_users.router,
        admin_tokens.router,
        shop_settings.router,
        site_content.router,
        site_content.public_router,
        mail_delivery.router,
        network_security.router,
        rate_limiter.router,
        cost_settings.router,
        coupons.router,
        promos.admin_router,
        promos.public_router,
        orgs.router,
        v1_catalog.router,
        v1_keys.router,
        v1_dfm.router,
        v1_usage.router,
        seo.router,
        event_contract.router,
    ):
        app.include_router(router)
    app.add_middleware(PatAccessLog)  # innermost: logs the status the routes answered
    # The CORS allowlist and CSP sources (shop settings), read live by both middlewares.
    network = app.state.network = CurrentNetwork()
    app.add_middleware(HtmlPolicy, network=network)  # every HTML answer's CSP
    if instrument:
        app.add_middleware(
            BodyLimit, upload_bytes=settings.max_file_bytes, json_bytes=settings.max_json_bytes
        )
    # Outside the body cap (a refused upload is never read), inside the request id and log.
    install_rate_limits(app, settings.rate_limits_enabled, settings.trusted_proxies)
    document_key_schemes(app)
    app.add_middleware(OpenCors)
    # /api/* but /api/v1/*: outside the rate limits, so a preflight costs no count and a 429
    # or 413 still carries the CORS headers the page needs to read it.
    app.add_middleware(ShopCors, network=network)
    app.add_middleware(RequestContext)
    if instrument:
        install_metrics(app)  # outermost: counts every answer, preflights and 413s too
    return app
