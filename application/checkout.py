"""Checkout: upload and analyse a model, price it, and place the order exactly once."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass, fields
from typing import Any, Protocol
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from application.coupons import Coupons
from application.ordering import OrderingApp, new_tracking_number
from application.ports import MeshAnalyzer, ModelStore, StoredModel, UploadSession
from application.quoting import Quoter, QuoteRequest
from application.site_content import ShopSettings, check_upload_format
from domain.errors import Conflict, InvalidInput, NotFound
from domain.models import MeshSummary
from domain.orders import Order
from domain.pricing import PartGeometry, PriceBreakdown

MAX_IDEMPOTENCY_KEY = 255


@dataclass(frozen=True)
class CheckoutRequest:
    """A customer's checkout: a new file, an earlier upload session or a catalog model, and
    their choices."""

    customer_id: str
    customer_email: str
    material: str
    color: str | None
    quantity: int
    infill_pct: float
    fulfillment: str
    priority: bool
    shipping_address: dict[str, str] | None
    notes: str
    model_bytes: bytes | None = None
    filename: str | None = None
    session_id: str | None = None
    idempotency_key: str | None = None
    shipping_method: str | None = None  # a shipping partner's slug or id; None: the default
    catalog_model_id: str | None = None  # a catalog model instead of a file or a session
    coupon_code: str | None = None  # redeemed in the same save as the order


@dataclass(frozen=True)
class CatalogItem:
    """A catalog model as checkout needs it: its file, geometry and fixed price (if any)."""

    model_id: str
    file: StoredModel
    summary: MeshSummary
    price_paise: int | None  # per copy before GST; None: the cost engine prices it


class CatalogSource(Protocol):
    """The catalog models a customer may order (application.catalog_models)."""

    def orderable(self, model_id: str, customer_id: str) -> CatalogItem:
        """The model if it is listed or the customer's own; NotFound otherwise."""
        ...

    def file_for_order(self, item: CatalogItem) -> StoredModel:
        """The model's file copied among the order files (the order outlives the model)."""
        ...


@dataclass(frozen=True)
class CheckoutResult:
    """The order, the log position its placement wrote, and whether it is new."""

    order: Order
    position: int
    created: bool


def geometry_of(summary: MeshSummary) -> PartGeometry:
    """The cost engine's view of an analysed mesh."""
    return PartGeometry(
        dim_x_mm=summary.dim_x_mm,
        dim_y_mm=summary.dim_y_mm,
        dim_z_mm=summary.dim_z_mm,
        volume_cm3=summary.volume_cm3,
        surface_area_cm2=summary.surface_area_cm2,
    )


class Checkout:
    """Turns uploads and checkouts into analysed, priced, placed orders."""

    def __init__(
        self,
        ordering: OrderingApp,
        quoter: Quoter,
        analyzer: MeshAnalyzer,
        models: ModelStore,
        catalog: CatalogSource | None = None,  # None: no catalog models to order
        coupons: Coupons | None = None,
        shop: ShopSettings | None = None,  # None: every upload format is on
    ) -> None:
        self.ordering = ordering
        self.quoter = quoter
        self.analyzer = analyzer
        self.models = models
        self.catalog = catalog
        self.coupons = coupons or Coupons(ordering)
        self.shop = shop

    def upload(self, owner_id: str, data: bytes, filename: str) -> UploadSession:
        """Analyse a file, keep it, and open an upload session for a later checkout."""
        check_upload_format(self.shop, filename)
        summary = self.analyzer.analyze(data, filename)
        # Refused before it is stored: no checkout could ever price it.
        self.quoter.require_printable(geometry_of(summary))
        session = UploadSession(
            session_id=secrets.token_urlsafe(24),
            owner_id=owner_id,
            model=self.models.put_model(data, filename),
            summary=summary,
        )
        self.models.put_session(session)
        return session

    def place(self, request: CheckoutRequest) -> CheckoutResult:
        """Place the order; a retry with the same Idempotency-Key returns the first one."""
        item = self.catalog_item(request)
        model_sha256 = item.file.sha256 if item else self._model_sha256(request)
        fingerprint = fingerprint_of(request, model_sha256)
        order_id = _order_id(request)
        existing = self.ordering.find(order_id, Order)
        if existing is not None:
            return self._replayed(existing, fingerprint)

        stored, summary = self.analysed_model(request, item)
        price = self.quoter.quote(
            QuoteRequest(
                geometry=geometry_of(summary),
                material=request.material,
                color=request.color,
                quantity=request.quantity,
                infill_pct=request.infill_pct,
                priority=request.priority,
                fulfillment=request.fulfillment,
                shipping_zip=(request.shipping_address or {}).get("zip"),
                shipping_method=request.shipping_method,
                unit_price_paise=item.price_paise if item else None,
            )
        )
        tracking_number = new_tracking_number()

        def build(price: PriceBreakdown) -> Order:
            return placed_order(
                request,
                price,
                order_id=order_id,
                tracking_number=tracking_number,
                stored=stored,
                summary=summary,
                item=item,
                fingerprint=fingerprint,
            )

        if request.coupon_code is not None:
            placed = self.coupons.redeem_with(
                price,
                request.coupon_code,
                customer_id=request.customer_id,
                order_id=order_id,
                build=build,
            )
            if placed is None:  # a concurrent retry with the same key won the race
                return self._replayed(self.ordering.get_order(order_id), fingerprint)
            return CheckoutResult(order=placed[0], position=placed[1], created=True)
        order = build(price)
        try:
            position = self.ordering.save_new(order)
        except Conflict:
            # A concurrent retry with the same key won the race: answer with its order.
            return self._replayed(self.ordering.get_order(order_id), fingerprint)
        return CheckoutResult(order=order, position=position, created=True)

    def _replayed(self, order: Order, fingerprint: str) -> CheckoutResult:
        if order.request_fingerprint != fingerprint:
            raise Conflict("Idempotency-Key was already used for a different checkout")
        return CheckoutResult(order=order, position=self.ordering.position(), created=False)

    def _model_sha256(self, request: CheckoutRequest) -> str:
        if request.model_bytes is not None:
            return hashlib.sha256(request.model_bytes).hexdigest()
        return self.session(request).model.sha256

    def catalog_item(self, request: CheckoutRequest) -> CatalogItem | None:
        """The catalog model ordered, if any; refuses a request naming more than one model."""
        sent = [request.model_bytes is not None, bool(request.session_id)]
        if not request.catalog_model_id:
            return None
        if any(sent):
            raise InvalidInput("send one of model_file, session_id or catalog_model_id, not two")
        if self.catalog is None:
            raise NotFound("catalog model not found")
        return self.catalog.orderable(request.catalog_model_id, request.customer_id)

    def analysed_model(
        self, request: CheckoutRequest, item: CatalogItem | None = None
    ) -> tuple[StoredModel, MeshSummary]:
        """The file an order keeps and its geometry: the catalog model's, the file's or the
        upload session's."""
        if item is not None and self.catalog is not None:
            return self.catalog.file_for_order(item), item.summary
        if request.model_bytes is not None:
            check_upload_format(self.shop, request.filename or "")
            summary = self.analyzer.analyze(request.model_bytes, request.filename or "")
            return self.models.put_model(request.model_bytes, request.filename or ""), summary
        session = self.session(request)
        return session.model, session.summary

    def session(self, request: CheckoutRequest) -> UploadSession:
        """The caller's own upload session the request names; 404 for anyone else's."""
        if not request.session_id:
            raise InvalidInput("send a model_file or the session_id of an earlier upload")
        session = self.models.get_session(request.session_id)
        if session is None or session.owner_id != request.customer_id:
            raise NotFound("upload session not found; upload the model again")
        return session


def placed_order(
    request: CheckoutRequest,
    price: PriceBreakdown,
    *,
    order_id: UUID,
    tracking_number: str,
    stored: StoredModel,
    summary: MeshSummary,
    item: CatalogItem | None,
    fingerprint: str,
    group_id: UUID | None = None,
) -> Order:
    """The order a checkout places at this price: alone, or one part of a cart's group."""
    return Order.place(
        order_id=order_id,
        customer_id=request.customer_id,
        customer_email=request.customer_email,
        tracking_number=tracking_number,
        group_id=None if group_id is None else str(group_id),
        model={**summary.to_dict(), **asdict(stored), **_catalog_reference(item)},
        material=price.material,
        color=price.color,
        quantity=request.quantity,
        infill_pct=request.infill_pct,
        fulfillment=request.fulfillment,
        priority=request.priority,
        shipping_address=request.shipping_address if request.fulfillment == "shipping" else None,
        customer_notes=request.notes,
        price=price.to_dict(),
        settings_version=price.settings_version,
        request_fingerprint=fingerprint,
        actor=f"customer:{request.customer_id}",
    )


def _catalog_reference(item: CatalogItem | None) -> dict[str, str]:
    """What an order of a catalog model records of it, besides the file and geometry."""
    return {"catalog_model_id": item.model_id} if item else {}


def _order_id(request: CheckoutRequest) -> UUID:
    """A fresh id, or one derived from the Idempotency-Key so retries hit the same stream."""
    return idempotent_id("checkout", request.customer_id, request.idempotency_key)


def idempotent_id(kind: str, customer_id: str, key: str | None) -> UUID:
    """A fresh id, or one derived from the customer's Idempotency-Key for this kind of write."""
    if key is None:
        return uuid4()
    if not key.strip() or len(key) > MAX_IDEMPOTENCY_KEY:
        raise InvalidInput(f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY} characters")
    return uuid5(NAMESPACE_URL, f"fabledger:{kind}:{customer_id}:{key}")


def fingerprint_of(request: CheckoutRequest, model_sha256: str) -> str:
    """A hash of everything the customer chose, to spot a key reused for another order."""
    # The fields as they are (asdict would deep-copy the address only to hash it).
    choices: dict[str, Any] = {
        k: v
        for k, v in ((f.name, getattr(request, f.name)) for f in fields(request))
        if k not in ("model_bytes", "session_id", "idempotency_key", "filename")
        # Added later: left out when unset, so keys of earlier orders keep their fingerprint.
        and not (k in ("shipping_method", "catalog_model_id", "coupon_code") and v is None)
    }
    choices["model_sha256"] = model_sha256
    return hashlib.sha256(json.dumps(choices, sort_keys=True).encode()).hexdigest()
