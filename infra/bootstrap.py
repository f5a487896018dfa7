"""The composition root: builds applications, adapters and projections once per process."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field

import structlog
from eventsourcing.persistence import InterfaceError, OperationalError

from application.access_tokens import AccessTokens
from application.accounts import Accounts
from application.addresses import Addresses
from application.assignment import PrinterAssignment
from application.base import FabApplication
from application.catalog import CatalogApp
from application.catalog_models import CatalogModels
from application.checkout import Checkout
from application.coupons import Coupons
from application.developer import DeveloperApp
from application.dfm import DfmService
from application.firm_quotes import FirmQuotes
from application.fleet import FleetApp
from application.identity import IdentityApp
from application.inquiries import Inquiries, SupportApp
from application.invoices import Invoices
from application.mail_delivery import MailDelivery
from application.model_media import ModelMedia
from application.ordering import OrderingApp
from application.payments import Payments, PaymentsApp
from application.print_config import PrintConfig
from application.promos import Promos
from application.quoting import Estimators, Quoter
from application.seo import SeoPages
from application.settlement import Settlement
from application.shipping import ShippingApp
from application.shop import ShopApp
from application.staff import StaffManagement
from application.two_factor import TwoFactor
from infra.access_log import BatchedAccessLog
from infra.dfm import TrimeshDfmAnalyzer
from infra.images import FileImageStore, PillowImageSanitiser, image_gate
from infra.invoice_pdf import render_invoice
from infra.kafka.positions import KafkaViewPosition, kafka_positions
from infra.leadership import AdvisoryLeadership
from infra.mailer import SettingsMailDrivers
from infra.mesh import SandboxedMeshAnalyzer, UploadGate
from infra.model_store import FileCatalogFiles, FileModelStore
from infra.passwords import Argon2Hasher
from infra.pincodes import OfflinePinDirectory
from infra.qr_images import SegnoQrImages
from infra.rate_limits import RateCounters, rate_counters
from infra.secret_box import FernetSecretBox
from infra.settings import Settings
from infra.slicing_setup import Slicing, build_slicing
from infra.stripe_billing import StripeBilling
from infra.stripe_payments import card_payments
from infra.tokens import SessionTokens
from infra.totp import PyotpCodes
from infra.views_db import PostgresViewDatabase, SQLiteViewDatabase
from projections.access_tokens import AccessTokensProjection
from projections.base import ViewDatabase
from projections.catalog import CatalogProjection
from projections.catalog_queries import CatalogView
from projections.coupons import CouponsProjection
from projections.fleet import OpenOrdersView
from projections.inquiries import InquiriesProjection, OrdersByTrackingView
from projections.model_media import ModelLikesProjection
from projections.orders import OrdersProjection
from projections.payment_flow import PaymentFlow, RefundFlow
from projections.payments import PaymentsProjection
from projections.printer_load import PrinterLoadProjection, PrinterLoadView
from projections.runner import Lead, ProjectionRunner
from projections.slice_flow import SliceFlow
from projections.slice_jobs import SliceJobsProjection
from projections.stats import StatsProjection
from projections.usage import UsageProjection
from projections.users import UsersProjection, UsersView


@dataclass
class Container:
    """Everything a process needs, built from one Settings object."""

    settings: Settings
    identity: IdentityApp
    catalog: CatalogApp
    ordering: OrderingApp
    shipping: ShippingApp
    developer: DeveloperApp
    dfm: DfmService
    quoter: Quoter
    checkout: Checkout
    tokens: SessionTokens
    views: ViewDatabase
    uploads: UploadGate  # held by a request while it reads and analyses an uploaded model
    fleet: FleetApp
    print_config: PrintConfig  # staff's materials, printers and categories
    assignment: PrinterAssignment  # staff put orders on printers (ranked by eligibility)
    staff: StaffManagement  # admins manage accounts (roles, deactivation, verification)
    accounts: Accounts  # own password, profile and the mailed reset link
    mail_delivery: MailDelivery  # the Mailer: the admin's mail_delivery setting, else the env's
    shop: ShopApp  # shop settings by key, each change an event
    two_factor: TwoFactor  # TOTP 2FA: enrolment, the login's second step, recovery codes
    access_tokens: AccessTokens  # admins' personal access tokens (PATs) and their use
    access_log: BatchedAccessLog  # PAT requests, written in batches in the background
    rate_counters: RateCounters  # per-IP request counts (shared in PostgreSQL)
    catalog_models: CatalogModels  # the catalog's models: uploads, shares, moderation
    coupons: Coupons  # discount codes, on the ordering log (redeemed with their orders)
    promos: Promos  # scheduled banners and the homepage popup (catalog log)
    model_media: ModelMedia  # catalog models' preview images and likes
    image_uploads: UploadGate  # requests decoding a preview image at once (bounds memory)
    seo: SeoPages  # robots.txt, the sitemap's settings, product pages' meta and JSON-LD
    addresses: Addresses  # customers' saved delivery addresses (identity log)
    payments: Payments  # one payment per order or group: UPI, cards, staff, refunds
    settlement: Settlement  # what a confirmed payment or a cancelled paid order entails
    invoices: Invoices  # GST invoice numbers and PDFs
    inquiries: Inquiries  # the contact form (daily limits) and the staff inbox: support log
    slicing: Slicing  # firm quotes: slice jobs, their view, G-code files, the slicer's queue
    firm_quotes: FirmQuotes  # quotes priced from the slicer's figures once sliced
    # Process managers (payment_flow, refund_flow, slice_flow): run by the API processes,
    # even when Kafka feeds the views (their effects are idempotent commands, not rows);
    # on PostgreSQL each by one process at a time (leadership).
    flows: dict[str, ProjectionRunner] = field(default_factory=dict)
    leadership: AdvisoryLeadership | None = None
    projections: dict[str, ProjectionRunner] = field(default_factory=dict)
    kafka_views: dict[str, KafkaViewPosition] = field(default_factory=dict)

    def applications(self) -> dict[str, FabApplication]:
        """Every application (one event log each) of the process, by name: the one list that
        closing, the Kafka relay and the metrics go through."""
        apps = (
            self.identity,
            self.catalog,
            self.ordering,
            self.shipping,
            self.fleet,
            self.developer,
            self.shop,
            self.payments.app,
            self.inquiries.app,
            self.slicing.app,
        )
        return {app.name: app for app in apps}

    def read_position(self, view: str) -> ProjectionRunner | KafkaViewPosition:
        """What read-your-writes waits on: the Kafka consumers' position, else the runner."""
        return self.kafka_views.get(view) or self.projections[view]

    def start_projections(self) -> None:
        """Catch up and follow the log in background threads (embedded mode), and the flows."""
        # Kafka consumers fold the views: folding the log too would double them.
        _follow([] if self.kafka_views else list(self.projections.values()))
        self.start_flows()

    def start_flows(self) -> None:
        """Run the payment, refund and slice flows in this process, each while this process
        leads it (on PostgreSQL one API process at a time does: infra.leadership), and the
        slicer when it is to slice here (claims keep jobs apart)."""
        if self.settings.uses_postgres and self.leadership is None:
            self.leadership = AdvisoryLeadership(self.settings.database_url)
        _follow(list(self.flows.values()), self.leadership)
        if self.settings.slicer_in_process:
            self.slicing.start_in_process()

    def close(self) -> None:
        """Stop followers and close connections."""
        for runner in [*self.flows.values(), *self.projections.values()]:
            runner.stop()
        if self.leadership is not None:
            self.leadership.close()
        self.access_log.close()  # a last flush, while the views are still open
        self.dfm.close()  # counts in flight are saved before the stores close
        self.slicing.close()  # after the slice in flight
        for app in self.applications().values():
            app.close()
        self.rate_counters.close()
        self.dfm.analyzer.close()
        self.checkout.analyzer.close()
        close = getattr(self.views, "close", None)
        if close is not None:
            close()


def _follow(runners: list[ProjectionRunner], lead: Lead | None = None) -> None:
    """Catch each runner up, then let it follow its log, woken by its application's saves
    (with `lead`: the runners this process leads; the others wait for the lead)."""
    for runner in runners:
        if lead is None or lead.holds(runner.name):
            runner.catch_up()
        if isinstance(runner.app, FabApplication):
            runner.app.add_listener(_waker(runner))
        runner.start(lead=lead)


def _waker(runner: ProjectionRunner) -> Callable[[int], None]:
    """A save listener that wakes the runner's follower thread."""
    return lambda _position: runner.wake()


STARTUP_ATTEMPTS = 6  # ~15 s of pauses: a crowd of processes starting, not an outage


def view_database(settings: Settings) -> ViewDatabase:
    """Views beside the events: the same PostgreSQL database, or a views.db file."""
    if settings.uses_postgres:
        return PostgresViewDatabase(settings.database_url)
    return SQLiteViewDatabase(settings.data_dir / "views.db")


def bootstrap(settings: Settings) -> Container:
    """Build the process's object graph; seeds the default catalog if it is empty.

    A failure half-way (the database away) closes what was opened, so a retry leaks no
    connection pools.
    """
    with ExitStack() as undo:
        container = _build(settings, undo)
        undo.pop_all()
        return container


def bootstrap_when_ready(settings: Settings, attempts: int = STARTUP_ATTEMPTS) -> Container:
    """bootstrap(), retried with a growing pause while the database cannot be reached.

    Many processes starting at once (uvicorn --workers N, a deployment's rollout) each open
    a pool per application; PostgreSQL accepting them slower than the pool's 2 s wait must
    not kill a process that would start a second later.
    """
    for attempt in range(1, attempts + 1):
        try:
            return bootstrap(settings)
        except (OperationalError, InterfaceError) as error:
            if attempt == attempts:
                raise
            pause = min(8.0, 0.5 * 2 ** (attempt - 1))
            structlog.get_logger("fabledger.startup").warning(
                "startup_retry", error_type=type(error).__name__, attempt=attempt, retry_in=pause
            )
            time.sleep(pause)
    raise AssertionError("unreachable")


def _build(settings: Settings, undo: ExitStack) -> Container:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    identity = IdentityApp(Argon2Hasher(), env=settings.event_store_env("identity"))
    undo.callback(identity.close)
    catalog = CatalogApp(env=settings.event_store_env("catalog"))
    undo.callback(catalog.close)
    catalog.seed_defaults()
    fleet = FleetApp(env=settings.event_store_env("fleet"))
    undo.callback(fleet.close)
    fleet.seed_defaults()
    ordering = OrderingApp(env=settings.event_store_env("ordering"))
    undo.callback(ordering.close)
    shipping = ShippingApp(OfflinePinDirectory(), env=settings.event_store_env("shipping"))
    undo.callback(shipping.close)
    shipping.seed_defaults()
    meshes = SandboxedMeshAnalyzer(
        max_bytes=settings.max_file_bytes,
        workers=settings.mesh_workers,
        memory_mb=settings.mesh_memory_mb,
        timeout_seconds=settings.mesh_timeout_seconds,
        max_waiting=settings.mesh_max_waiting,
    )
    undo.callback(meshes.close)
    model_files = FileModelStore(settings.data_dir)
    secret_box = FernetSecretBox(settings.resolved_secrets_keys())  # TOTP and SMTP secrets
    shop = ShopApp(env=settings.event_store_env("shop"), secret_box=secret_box)
    undo.callback(shop.close)
    quoter = Quoter(catalog, shipping, fleet, Estimators(shop))
    mail_delivery = MailDelivery(shop, secret_box, SettingsMailDrivers(settings))
    catalog_models = CatalogModels(
        catalog, shop, meshes, quoter, model_files, FileCatalogFiles(settings.data_dir, model_files)
    )
    coupons = Coupons(ordering)
    checkout = Checkout(ordering, quoter, meshes, model_files, catalog_models, coupons, shop)
    views = view_database(settings)
    undo.callback(getattr(views, "close", lambda: None))
    projections = {
        p.name: ProjectionRunner(ordering, p, views)
        for p in (OrdersProjection(), StatsProjection(), PrinterLoadProjection())
    }
    api_key = settings.stripe_api_key.get_secret_value()
    billing = StripeBilling(api_key, settings.stripe_api_base or None) if api_key else None
    developer = DeveloperApp(env=settings.event_store_env("developer"), billing=billing)
    undo.callback(developer.close)
    projections["usage"] = ProjectionRunner(developer, UsageProjection(), views)
    projections["users"] = ProjectionRunner(identity, UsersProjection(), views)
    projections["access_tokens"] = ProjectionRunner(identity, AccessTokensProjection(), views)
    projections["catalog"] = ProjectionRunner(catalog, CatalogProjection(), views)
    projections["model_likes"] = ProjectionRunner(catalog, ModelLikesProjection(), views)
    projections["coupons"] = ProjectionRunner(ordering, CouponsProjection(), views)
    access_log = BatchedAccessLog(views)
    payments_app = PaymentsApp(env=settings.event_store_env("payments"))
    undo.callback(payments_app.close)
    payments = Payments(
        payments_app,
        ordering,
        shop,
        SegnoQrImages(),
        card_payments(settings),
    )
    invoices = Invoices(payments, shipping.pins, render_invoice)
    settlement = Settlement(payments, invoices)
    projections["payments"] = ProjectionRunner(payments_app, PaymentsProjection(), views)
    support = SupportApp(env=settings.event_store_env("support"))
    undo.callback(support.close)
    projections["inquiries"] = ProjectionRunner(support, InquiriesProjection(), views)
    slicing = build_slicing(settings, ordering, catalog, fleet, model_files, views)
    undo.callback(slicing.app.close)
    projections["slice_jobs"] = ProjectionRunner(slicing.app, SliceJobsProjection(), views)
    flows = {
        "payment_flow": ProjectionRunner(payments_app, PaymentFlow(settlement), views),
        "refund_flow": ProjectionRunner(ordering, RefundFlow(settlement), views),
        "slice_flow": ProjectionRunner(ordering, SliceFlow(slicing.orders), views),
    }
    return Container(
        settings=settings,
        identity=identity,
        catalog=catalog,
        ordering=ordering,
        shipping=shipping,
        developer=developer,
        dfm=DfmService(developer, TrimeshDfmAnalyzer(settings.max_file_bytes), fleet),
        quoter=quoter,
        checkout=checkout,
        tokens=SessionTokens(settings.resolved_jwt_secret(), settings.jwt_hours),
        views=views,
        uploads=meshes.gate,
        fleet=fleet,
        print_config=PrintConfig(
            catalog,
            fleet,
            identity,
            OpenOrdersView(views),
            PrinterLoadView(views),
            models=CatalogView(views),
            pins=shipping.pins,
        ),
        assignment=PrinterAssignment(
            ordering, fleet, catalog, shipping.pins, PrinterLoadView(views), slicing.orders
        ),
        staff=StaffManagement(identity, UsersView(views)),
        accounts=Accounts(identity, mail_delivery, settings.public_url),
        mail_delivery=mail_delivery,
        rate_counters=rate_counters(settings),
        shop=shop,
        two_factor=TwoFactor(
            identity,
            shop,
            PyotpCodes(),
            SegnoQrImages(),
            secret_box,
        ),
        access_tokens=AccessTokens(identity, access_log),
        access_log=access_log,
        catalog_models=catalog_models,
        coupons=coupons,
        promos=Promos(catalog, coupons),
        model_media=ModelMedia(
            catalog_models, PillowImageSanitiser(), FileImageStore(settings.data_dir)
        ),
        image_uploads=image_gate(),
        seo=SeoPages(catalog, shop, settings.public_url),
        addresses=Addresses(identity, shipping.pins),
        payments=payments,
        settlement=settlement,
        invoices=invoices,
        inquiries=Inquiries(support, shop, OrdersByTrackingView(views), identity, mail_delivery),
        slicing=slicing,
        firm_quotes=FirmQuotes(quoter, catalog, slicing.app),
        flows=flows,
        projections=projections,
        kafka_views=(
            kafka_positions(projections, views, settings.kafka_topic_prefix)
            if settings.projections_source == "kafka"
            else {}
        ),
    )
