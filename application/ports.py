"""Ports: what the application needs from the outside world, as typing.Protocols."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from domain.catalog import PrinterProfile
from domain.models import MeshSummary


class MeshAnalyzer(Protocol):
    """Turns uploaded bytes into geometry, refusing anything that is not a sound mesh."""

    def analyze(self, data: bytes, filename: str) -> MeshSummary:
        """Analyse a model file; raises InvalidModelFile, FileTooLarge or Unavailable (busy)."""
        ...

    def close(self) -> None:
        """Stop any worker processes the analysis runs in."""
        ...


class PasswordHasher(Protocol):
    """A slow, salted key-derivation function for passwords."""

    def hash(self, password: str) -> str:
        """Hash a password for storage."""
        ...

    def verify(self, password_hash: str, password: str) -> bool:
        """Check a password against a stored hash in constant time."""
        ...

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with weaker parameters than today's."""
        ...


@dataclass(frozen=True)
class StoredModel:
    """A model file kept for printing, addressed by its content hash."""

    sha256: str
    filename: str
    size_bytes: int


@dataclass(frozen=True)
class UploadSession:
    """An analysed upload waiting to be checked out by the user who sent it."""

    session_id: str
    owner_id: str
    model: StoredModel
    summary: MeshSummary


class ModelStore(Protocol):
    """Keeps uploaded model files and the upload sessions that point at them."""

    def put_model(self, data: bytes, filename: str) -> StoredModel:
        """Store the bytes (idempotent by content) and return their reference."""
        ...

    def put_session(self, session: UploadSession) -> None:
        """Remember an analysed upload for a later checkout."""
        ...

    def get_session(self, session_id: str) -> UploadSession | None:
        """The upload session with this id, or None."""
        ...


@dataclass(frozen=True)
class UsageReport:
    """Overage units of one meter, sent to billing under an identifier that never repeats."""

    event_name: str
    customer_id: str
    units: int
    identifier: str
    timestamp: int  # Unix seconds of the last usage the report covers


class BillingGateway(Protocol):
    """The payment provider: customers and metered usage."""

    def create_customer(self, *, org_id: str, name: str, email: str | None) -> str:
        """Create a billing customer and return its id."""
        ...

    def report_usage(self, report: UsageReport) -> bool:
        """Send usage; True if accepted now, False if the identifier was already delivered."""
        ...


class DfmAnalyzer(Protocol):
    """Design-for-manufacturing analysis of a model file, run within time and memory limits."""

    def quick_info(self, data: bytes, filename: str) -> dict[str, Any]:
        """A fast geometry summary (dimensions, volume, area, bodies, watertight/manifold)."""
        ...

    def analyze(
        self, data: bytes, filename: str, printers: Sequence[PrinterProfile]
    ) -> dict[str, Any]:
        """A printability report: walls, overhangs, fit per printer, open edges, score, issues."""
        ...

    def close(self) -> None:
        """Stop the worker processes the analysis runs in."""
        ...


@dataclass(frozen=True)
class PinPlace:
    """A PIN code as the postal directory knows it: where it is and what serves it."""

    pincode: str
    state: str | None
    districts: tuple[str, ...]
    latitude: float | None  # the centroid of its post offices; None when not surveyed
    longitude: float | None
    offices: tuple[str, ...]  # post office names, head office first


class PinDirectory(Protocol):
    """India's PIN codes with their districts and centroids (an offline dataset)."""

    data_version: str
    attribution: str  # the data's licence asks every use to credit its source

    def lookup(self, pincode: str) -> PinPlace | None:
        """The place of a well-formed PIN, or None if no such PIN exists."""
        ...

    def distance_km(self, a: str, b: str) -> float | None:
        """Great-circle km between two PINs' centroids; None if either has none."""
        ...

    def search(self, text: str, limit: int) -> list[PinPlace]:
        """PINs whose district or post office name contains text, in PIN order."""
        ...
