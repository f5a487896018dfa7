"""Builders shared by the tests: containers on each backend, meshes, customers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import trimesh

from application.checkout import CheckoutRequest
from domain.orders import Order
from domain.pricing import PriceBreakdown
from infra.bootstrap import Container, bootstrap
from infra.settings import Settings

# Meshes made elsewhere, copied into the repo with their licence (tests/data/meshes/README.md).
CORPUS = Path(__file__).resolve().parents[1] / "data" / "meshes" / "numpy-stl"


def container_for(data_dir: Path, database_url: str = "") -> Container:
    """A container on SQLite files (default), memory:// or a PostgreSQL URL."""
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        jwt_secret="test-secret-that-is-long-enough-for-hs256",
        read_wait_seconds=5,
    )
    return bootstrap(settings)


def cube_stl(size_mm: float = 20.0) -> bytes:
    """A watertight cube as binary STL."""
    return trimesh.creation.box(extents=(size_mm, size_mm, size_mm)).export(file_type="stl")


def pickup_request(customer_id: str, **overrides: object) -> CheckoutRequest:
    """A PLA pickup checkout of a 20 mm cube."""
    values: dict[str, object] = {
        "customer_id": customer_id,
        "customer_email": "maker@example.com",
        "material": "PLA",
        "color": None,
        "quantity": 2,
        "infill_pct": 20,
        "fulfillment": "pickup",
        "priority": False,
        "shipping_address": None,
        "notes": "",
        "model_bytes": cube_stl(),
        "filename": "cube.stl",
    }
    values.update(overrides)
    return CheckoutRequest(**values)  # type: ignore[arg-type]


def order_builder(
    order_id: UUID,
    customer_id: str,
    *,
    email: str,
    tracking_number: str,
    model: dict[str, Any],
    actor: str,
    fingerprint: str,
) -> Callable[[PriceBreakdown], Order]:
    """A pickup order's `build(price)`, as coupon redemption asks for it (priced at save)."""

    def build(price: PriceBreakdown) -> Order:
        return Order.place(
            order_id=order_id,
            customer_id=customer_id,
            customer_email=email,
            tracking_number=tracking_number,
            group_id=None,
            model=model,
            material=price.material,
            color=price.color,
            quantity=price.quantity,
            infill_pct=price.infill_pct,
            fulfillment="pickup",
            priority=False,
            shipping_address=None,
            customer_notes="",
            price=price.to_dict(),
            settings_version=price.settings_version,
            request_fingerprint=fingerprint,
            actor=actor,
        )

    return build
