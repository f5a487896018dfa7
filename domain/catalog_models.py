"""The CatalogModel aggregate: one stream per model in the shop's catalog.

Staff upload models for the catalog, and customers share models they uploaded. Admin and
moderator uploads are approved at once; a customer's waits for a moderator unless the shop
setting `catalog_auto_approve_customer_models` says otherwise (the seed's "Community
Catalog": keeping review on is strongly recommended). The storefront shows a model only
while it is both approved and public.

Event names start with "Model": the catalog's log also holds materials and categories
(whose Created, Updated and Deleted events the catalog view must not mistake for these).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, InvalidInput
from domain.model_media import PreviewImage
from domain.money import as_decimal, decimal_places, to_paise
from domain.shop.settings import SettingSpec, boolean, register_setting
from domain.users import STAFF_ROLES

AUTO_APPROVE_SETTING = "catalog_auto_approve_customer_models"
register_setting(
    AUTO_APPROVE_SETTING,
    SettingSpec(
        False,
        "Community Catalog: models customers share go live without review (admin and"
        " moderator uploads are always approved). Keeping review on is strongly recommended.",
        boolean,
    ),
)

MAX_NAME = 120
MAX_DESCRIPTION = 2000
MAX_NOTES = 2000
MAX_COLOR = 40
MAX_SEO_TITLE = 120
MAX_SEO_DESCRIPTION = 320
MAX_SLUG = 80
# Lower-case words of letters and digits joined by single hyphens: safe in a URL as it is.
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# ₹10 lakh: above it a paise/rupee mix-up is likelier than a real catalog price.
MAX_PRICE_PAISE = 100_000_000

APPROVED = "approved"  # approved and public: listed in the storefront
PENDING = "pending"  # waiting for approval (never approved, or approval withdrawn)
HIDDEN = "hidden"  # approved, but taken out of the storefront
STATUSES = (APPROVED, PENDING, HIDDEN)


def status_of(is_approved: bool, is_public: bool) -> str:
    """The one word staff filter by: approved (live), pending or hidden."""
    if not is_approved:
        return PENDING
    return APPROVED if is_public else HIDDEN


def parse_price(value: object, field: str = "price") -> int | None:
    """Rupees (a number or a decimal string) as exact paise; None stays None (engine-priced).

    A price finer than a paisa is refused rather than rounded: it is a typo, not a price.
    """
    if value is None:
        return None
    amount = as_decimal(value, field)
    if decimal_places(amount) > 2:
        raise InvalidInput(f"{field}: at most 2 decimal places (whole paise), got {value!r}")
    paise = to_paise(amount)
    if not 0 <= paise <= MAX_PRICE_PAISE:
        raise InvalidInput(f"{field} must be between 0 and {MAX_PRICE_PAISE // 100} rupees")
    return paise


def _text(data: dict[str, Any], field: str, most: int, *, required: bool = False) -> str:
    raw = data.get(field)
    value = "" if raw is None else str(raw).strip()
    if required and not value:
        raise InvalidInput(f"{field}: 1-{most} characters")
    if len(value) > most:
        raise InvalidInput(f"{field}: at most {most} characters")
    return value


@dataclass(frozen=True)
class ModelDetails:
    """What staff edit about a model: how it is listed, made and priced."""

    name: str
    category_id: str
    material: str  # a material code (checked against the catalog by the application)
    color: str
    price_paise: int | None  # a fixed price per copy before GST; None: the cost engine's
    description: str = ""
    notes: str = ""  # staff's own, never shown in the storefront

    @classmethod
    def parse(cls, data: dict[str, Any]) -> ModelDetails:
        """Validated details from primitives (price in rupees), or InvalidInput naming the field."""
        category = _text(data, "category_id", 36, required=True)
        try:
            category = str(UUID(category))
        except ValueError as error:
            raise InvalidInput("category_id: not a category's id") from error
        return cls(
            name=_text(data, "name", MAX_NAME, required=True),
            category_id=category,
            material=_text(data, "material", 20, required=True).upper(),
            color=_text(data, "color", MAX_COLOR),
            price_paise=parse_price(data.get("price")),
            description=_text(data, "description", MAX_DESCRIPTION),
            notes=_text(data, "notes", MAX_NOTES),
        )

    def to_dict(self) -> dict[str, Any]:
        """Primitive form, safe to store in an event (the price in paise)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelDetails:
        """Rebuild from the stored form."""
        return cls(**data)


@dataclass(frozen=True)
class SeoMeta:
    """How the model's product page presents itself to search engines."""

    seo_title: str = ""
    seo_description: str = ""
    slug: str | None = None  # unique across the catalog (a claim stream per slug)

    @classmethod
    def parse(cls, data: dict[str, Any]) -> SeoMeta:
        """Validated metadata; an empty slug means none."""
        slug = _text(data, "slug", MAX_SLUG).lower()
        if slug and not SLUG.match(slug):
            raise InvalidInput(
                "slug: lower-case letters and digits in words joined by single hyphens"
                " (e.g. phone-stand-v2)"
            )
        return cls(
            seo_title=_text(data, "seo_title", MAX_SEO_TITLE),
            seo_description=_text(data, "seo_description", MAX_SEO_DESCRIPTION),
            slug=slug or None,
        )

    def to_dict(self) -> dict[str, Any]:
        """Primitive form, safe to store in an event."""
        return asdict(self)


class CatalogModel(Aggregate):
    """A model file listed in the catalog, with its analysed geometry and its moderation."""

    class ModelUploaded(Aggregate.Created):
        """A model joined the catalog: uploaded by staff or shared by a customer.

        `file` is the stored file (sha256, filename, size_bytes); `mesh` its analysed
        geometry (domain.models.MeshSummary in primitive form).
        """

        details: dict[str, Any]
        owner_id: str
        owner_role: str
        file: dict[str, Any]
        mesh: dict[str, Any]
        is_approved: bool
        is_public: bool
        actor: str

    @event(ModelUploaded)
    def __init__(
        self,
        *,
        id: UUID,
        details: dict[str, Any],
        owner_id: str,
        owner_role: str,
        file: dict[str, Any],
        mesh: dict[str, Any],
        is_approved: bool,
        is_public: bool,
        actor: str,
    ) -> None:
        self.details = details
        self.owner_id = owner_id
        self.owner_role = owner_role
        self.file = file
        self.mesh = mesh
        self.is_approved = is_approved
        self.is_public = is_public
        self.meta: dict[str, Any] = SeoMeta().to_dict()
        self.deleted = False

    @classmethod
    def upload(
        cls,
        model_id: UUID,
        details: ModelDetails,
        *,
        owner_id: str,
        owner_role: str,
        file: dict[str, Any],
        mesh: dict[str, Any],
        auto_approve_customers: bool,
        actor: str,
    ) -> CatalogModel:
        """A new public model; approved at once when staff upload it or the shop says so."""
        approved = owner_role in STAFF_ROLES or auto_approve_customers
        return cls(
            id=model_id,
            details=details.to_dict(),
            owner_id=owner_id,
            owner_role=owner_role,
            file=dict(file),
            mesh=dict(mesh),
            is_approved=approved,
            is_public=True,
            actor=actor,
        )

    @property
    def current(self) -> ModelDetails:
        """The model's details now."""
        return ModelDetails.from_dict(self.details)

    @property
    def status(self) -> str:
        """approved (live in the storefront), pending or hidden."""
        return status_of(self.is_approved, self.is_public)

    @property
    def listed(self) -> bool:
        """Whether the storefront shows it: approved and public."""
        return self.is_approved and self.is_public and not self.deleted

    @property
    def slug(self) -> str | None:
        """The product page's unique slug, if one was given."""
        slug = self.meta.get("slug")
        return str(slug) if slug else None

    def moderate(self, *, is_approved: bool | None, is_public: bool | None, actor: str) -> None:
        """Approve or withdraw approval, show or hide; nothing is recorded for no change."""
        self._refuse_if_deleted()
        if is_approved is not None and is_approved != self.is_approved:
            self._approval_changed(is_approved=is_approved, actor=actor)
        if is_public is not None and is_public != self.is_public:
            self._visibility_changed(is_public=is_public, actor=actor)

    @event("ModelApprovalChanged")
    def _approval_changed(self, is_approved: bool, actor: str) -> None:
        self.is_approved = is_approved

    @event("ModelVisibilityChanged")
    def _visibility_changed(self, is_public: bool, actor: str) -> None:
        self.is_public = is_public

    def change_meta(self, meta: SeoMeta, *, actor: str) -> None:
        """Record new SEO metadata (the slug's claim is the application's to make)."""
        self._refuse_if_deleted()
        if meta.to_dict() != self.meta:
            self._meta_changed(meta=meta.to_dict(), previous=dict(self.meta), actor=actor)

    @event("ModelMetaChanged")
    def _meta_changed(self, meta: dict[str, Any], previous: dict[str, Any], actor: str) -> None:
        self.meta = meta

    def update(self, details: ModelDetails, *, actor: str) -> None:
        """Record new details (nothing when unchanged)."""
        self._refuse_if_deleted()
        if details.to_dict() != self.details:
            self._details_changed(details=details.to_dict(), previous=self.details, actor=actor)

    @event("ModelDetailsChanged")
    def _details_changed(
        self, details: dict[str, Any], previous: dict[str, Any], actor: str
    ) -> None:
        self.details = details

    # Preview image (domain.model_media): set by its owner or staff, removed by staff.
    image: dict[str, Any] | None = None  # sha256, format, width, height; None: no image

    @property
    def preview_image(self) -> PreviewImage | None:
        """The model's preview image now, if any."""
        return PreviewImage.from_dict(self.image) if self.image else None

    def set_image(self, image: PreviewImage, *, actor: str) -> None:
        """Record a new preview image (nothing when it is the same one)."""
        self._refuse_if_deleted()
        if image.to_dict() != self.image:
            self._image_set(image=image.to_dict(), previous=self.image, actor=actor)

    @event("ModelImageSet")
    def _image_set(
        self, image: dict[str, Any], previous: dict[str, Any] | None, actor: str
    ) -> None:
        self.image = image

    def remove_image(self, *, actor: str) -> None:
        """Remove the preview image (nothing when there is none)."""
        self._refuse_if_deleted()
        if self.image is not None:
            self._image_removed(previous=self.image, actor=actor)

    @event("ModelImageRemoved")
    def _image_removed(self, previous: dict[str, Any], actor: str) -> None:
        self.image = None

    def delete(self, *, actor: str) -> None:
        """Take the model out of the catalog for good (its history stays in the log)."""
        self._refuse_if_deleted()
        self._deleted(actor=actor)

    @event("ModelDeleted")
    def _deleted(self, actor: str) -> None:
        self.deleted = True

    def _refuse_if_deleted(self) -> None:
        if self.deleted:
            raise Conflict("this catalog model was deleted")
