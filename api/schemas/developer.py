"""Organisations, API keys, usage and DFM reports of the developer API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Member(BaseModel):
    """A member of an organisation."""

    user_id: str
    role: str


class OrgView(BaseModel):
    """An organisation as its members see it."""

    id: str
    name: str
    plan: str
    members: list[Member]
    active_keys: int
    billing_linked: bool


class KeyListing(BaseModel):
    """A key's metadata: never its secret."""

    name: str
    clientId: str
    keyLastFour: str
    created: str
    lastUsed: str | None
    meteredCalls: int


class IssuedKey(KeyListing):
    """A new key: the only answer that shows the secret, in both header styles."""

    apiKey: str
    clientSecret: str
    warning: str


class KeyList(BaseModel):
    """The organisation's active keys."""

    keys: list[KeyListing]


class RevokedKey(BaseModel):
    """A key that no longer works."""

    revoked: bool
    clientId: str


class Ping(BaseModel):
    """Which organisation a key speaks for."""

    ok: bool
    org_id: str


class MeterCounter(BaseModel):
    """Usage of one product in one billing period."""

    meter_id: str
    org_id: str
    product: str
    period: str
    tier: str
    included: int
    hard_cap: bool
    used: int
    reported_units: int
    pending_identifier: str | None
    last_usage_at: str | None
    overage: int
    remaining: int


class Usage(BaseModel):
    """The organisation's usage per product and period."""

    org_id: str
    tier: str
    meters: list[MeterCounter]


class Dimensions(BaseModel):
    """Extents along each axis."""

    x: float
    y: float
    z: float


class QuickInfo(BaseModel):
    """The fast geometry summary of a model."""

    file_format: str
    units: str
    dimensions_mm: Dimensions
    volume_cm3: float
    surface_area_cm2: float
    triangle_count: int
    body_count: int
    is_watertight: bool
    is_manifold: bool
    is_winding_consistent: bool
    analysis_ms: float | None = None


class DfmIssue(BaseModel):
    """One actionable finding, with where on the model it is."""

    kind: str
    severity: str
    message: str
    locations: list[Any]


class BodyCounts(BaseModel):
    """Bodies of the model: how many, how many open, which are inside out."""

    count: int
    open: int
    inverted: int


class DfmReport(BaseModel):
    """A printability report: walls, overhangs, fit per printer, open edges, score."""

    model: QuickInfo
    score: int
    issues: list[DfmIssue]
    thin_walls: dict[str, Any] = Field(description="Wall-thickness samples and thin spots.")
    overhangs: dict[str, Any] = Field(description="Overhang area and its largest region.")
    fit: list[dict[str, Any]] = Field(description="Fit in each printer's build volume.")
    open_edges: dict[str, Any] = Field(description="Boundary and non-manifold edges.")
    bodies: BodyCounts
    parameters: dict[str, Any] = Field(description="The parameters the analysis ran with.")
    analysis_ms: float | None = None
