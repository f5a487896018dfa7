"""Ports: what the application needs from the outside world, as typing.Protocols."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from domain.catalog import PrinterProfile
from domain.errors import Conflict, Unavailable
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


@dataclass(frozen=True)
class AccessLogEntry:
    """One request made with a personal access token (never the token itself)."""

    token_id: str  # the token's UUID (its stream id), as the admin API names it
    token_name: str
    method: str
    path: str
    status: int
    client_ip: str
    at: str  # ISO-8601 UTC, microseconds: sorts as text


class AccessLog(Protocol):
    """Where PAT requests are logged: written in the background, read by admins."""

    def record(self, entry: AccessLogEntry) -> None:
        """Queue one entry; never blocks or fails the request (a full queue drops it)."""
        ...

    def recent(self, token_id: str | None, limit: int) -> list[AccessLogEntry]:
        """The newest entries first, of one token or of all."""
        ...

    def last_used(self) -> dict[str, str]:
        """When each token was last used (its newest entry's time), by token id."""
        ...

    def forget(self, token_ids: Sequence[str]) -> None:
        """Delete every entry of these tokens, queued ones too."""
        ...


class SecretBox(Protocol):
    """Encrypts small secrets (a TOTP secret, an SMTP password) for storage, e.g. in events."""

    def seal(self, secret: str) -> str:
        """The secret encrypted and authenticated, as text safe to store."""
        ...

    def open(self, sealed: str) -> str:
        """The secret again; raises ValueError if no configured key opens it."""
        ...


class TotpCodes(Protocol):
    """RFC 6238 time-based one-time codes (30-second steps, 6 digits, SHA-1)."""

    def new_secret(self) -> str:
        """A fresh random base32 secret (160 bits)."""
        ...

    def provisioning_uri(self, secret: str, account: str) -> str:
        """The otpauth:// URI an authenticator app enrols from (issuer: fabledger)."""
        ...

    def matching_step(self, secret: str, code: str, now: datetime) -> int | None:
        """The time step (now's, or one either side) whose code this is, or None; compared
        in constant time. The step, not a yes/no, so that a used step can be refused."""
        ...


class QrCodes(Protocol):
    """Renders text as a QR code image."""

    def png_data_uri(self, text: str) -> str:
        """A data:image/png;base64,... URI of the QR code."""
        ...


@dataclass(frozen=True)
class CleanImage:
    """An uploaded picture after sanitising: re-encoded pixels only, no metadata."""

    format: str  # jpeg, png or webp (domain.model_media.IMAGE_FORMATS)
    width: int
    height: int
    data: bytes
    sha256: str  # of `data`, the re-encoded bytes


class ImageSanitiser(Protocol):
    """Recognises an image by its content and re-encodes its pixels, within limits."""

    def clean(self, data: bytes) -> CleanImage:
        """The re-encoded image; FileTooLarge past the byte cap, InvalidInput for anything
        that is not a whole JPEG, PNG or WebP within the pixel cap."""
        ...


class ImageStore(Protocol):
    """Keeps sanitised preview images, addressed by their content hash."""

    def put(self, image: CleanImage) -> None:
        """Store the bytes (idempotent by content)."""
        ...

    def read(self, sha256: str, format: str) -> bytes | None:
        """The stored bytes, or None when they are missing."""
        ...


class CatalogFiles(Protocol):
    """Catalog models' files, one per model, deleted with it (orders keep their own copies)."""

    def put(self, model_id: UUID, data: bytes) -> None:
        """Keep the bytes of a new catalog model."""
        ...

    def put_upload(self, model_id: UUID, upload: StoredModel) -> None:
        """Keep a copy of an uploaded file (an upload session's) for a shared model."""
        ...

    def path(self, model_id: UUID) -> Path | None:
        """Where the model's file is, to stream it; None when there is none."""
        ...

    def delete(self, model_id: UUID) -> None:
        """Remove the model's file (nothing when it is gone already)."""
        ...

    def copy_for_order(self, model_id: UUID, file: StoredModel) -> StoredModel:
        """The file in the order files (content-addressed), so the order outlives the model."""
        ...


@dataclass(frozen=True)
class CardIntent:
    """A card payment opened at the provider: its id and the secret the browser confirms it
    with (shown to the paying customer, never stored or logged)."""

    intent_id: str
    client_secret: str
    status: str  # the provider's own status, e.g. requires_payment_method


@dataclass(frozen=True)
class ProviderEvent:
    """A verified webhook event, reduced to what payments act on."""

    event_id: str
    type: str  # e.g. payment_intent.succeeded, payment_intent.payment_failed
    intent_id: str | None
    amount_paise: int | None  # what the provider says was received
    reference: str | None  # our payment reference, from the intent's metadata
    failure: str | None  # the provider's reason when a payment failed


class WebhookRefused(Exception):
    """The webhook's signature or payload did not verify: nothing may be done with it."""


class PaymentProviderUnavailable(Unavailable):
    """The payment provider could not be reached, failed, or refused our credentials (503):
    retry later under the same idempotency key, so nothing is done twice."""


class PaymentProviderRefused(Conflict):
    """The payment provider refused this request (409), e.g. a refund of an intent that was
    never paid: a person has to look, retrying will not help."""


class CardPayments(Protocol):
    """A card payment provider (Stripe): intents, refunds and signed webhooks.

    Calls to the provider raise PaymentProviderUnavailable or PaymentProviderRefused.
    """

    def create_intent(
        self, *, amount_paise: int, reference: str, description: str, idempotency_key: str
    ) -> CardIntent:
        """Open a payment intent for the amount in INR paise, tagged with our reference."""
        ...

    def intent(self, intent_id: str) -> CardIntent:
        """The intent as the provider holds it now (to hand its secret to the payer again)."""
        ...

    def refund(self, *, intent_id: str, amount_paise: int, idempotency_key: str) -> str:
        """Refund part or all of a succeeded intent; the provider's refund id."""
        ...

    def verify(self, payload: bytes, signature_header: str) -> ProviderEvent:
        """The event a signed webhook body carries; WebhookRefused if it does not verify."""
        ...


class QrImages(Protocol):
    """Renders a UPI link as a QR code image."""

    def png(self, text: str) -> bytes:
        """The QR code as PNG bytes."""
        ...

    def svg(self, text: str) -> str:
        """The QR code as an SVG document."""
        ...
