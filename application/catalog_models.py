"""Catalog model use cases: staff uploads, customers' shares, moderation, and checkout's view.

The streams live in the catalog application (the design's catalog context), beside the
materials and categories they name. Files: each model keeps its own copy (ports.CatalogFiles)
so deleting a model deletes its file and nothing else; an order of a catalog model copies
the file among the order files, so it outlives the model.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from application.base import last_position
from application.catalog import CatalogApp
from application.checkout import CatalogItem, geometry_of
from application.ports import CatalogFiles, MeshAnalyzer, StoredModel, UploadSession
from application.site_content import check_upload_format
from domain.catalog_models import AUTO_APPROVE_SETTING, CatalogModel, ModelDetails, SeoMeta
from domain.catalog_slugs import SlugClaim, slug_claim_id, taken
from domain.errors import Conflict, InvalidInput, NotFound
from domain.fleet.categories import Category
from domain.models import MeshSummary
from domain.pricing import PartGeometry
from domain.users import STAFF_ROLES

NOT_FOUND = "catalog model not found"


class ShopSettings(Protocol):
    """The shop's settings by key (application.shop.ShopApp)."""

    def value(self, key: str) -> Any:
        """The current value of one key."""
        ...


class Printability(Protocol):
    """Whether the active fleet can make a part (application.quoting.Quoter)."""

    def require_printable(self, geometry: PartGeometry) -> None:
        """Refuse geometry no active printer can make."""
        ...


class UploadSessions(Protocol):
    """Analysed uploads waiting for their owner (application.ports.ModelStore)."""

    def get_session(self, session_id: str) -> UploadSession | None:
        """The upload session with this id, or None."""
        ...


@dataclass(frozen=True)
class Person:
    """Who acts or looks: a signed-in user's id and role, and how events name them."""

    user_id: str
    role: str
    actor: str = ""

    @property
    def is_staff(self) -> bool:
        """Moderators and admins see every model."""
        return self.role in STAFF_ROLES


@dataclass(frozen=True)
class ModelChange:
    """A model after a command, and the position written (the head when nothing changed)."""

    model: CatalogModel
    position: int


class CatalogModels:
    """Uploads, shares, moderation and deletion of catalog models; what checkout orders."""

    def __init__(
        self,
        catalog: CatalogApp,
        shop: ShopSettings,
        analyzer: MeshAnalyzer,
        printable: Printability,
        sessions: UploadSessions,
        files: CatalogFiles,
    ) -> None:
        self.catalog = catalog
        self.shop = shop
        self.analyzer = analyzer
        self.printable = printable
        self.sessions = sessions
        self.files = files

    # Adding models.

    def upload(
        self, data: bytes, filename: str, fields: dict[str, Any], *, by: Person
    ) -> ModelChange:
        """Analyse a file like any upload and list it (staff uploads are approved at once)."""
        details = self._checked(ModelDetails.parse(fields))
        check_upload_format(self.shop, filename)
        summary = self.analyzer.analyze(data, filename)  # CPU work: callers use a thread
        self.printable.require_printable(geometry_of(summary))
        model_id = uuid4()
        stored = StoredModel(hashlib.sha256(data).hexdigest(), Path(filename).name, len(data))
        self.files.put(model_id, data)
        return self._add(model_id, details, stored, summary, by)

    def share(self, session_id: str, fields: dict[str, Any], *, by: Person) -> ModelChange:
        """List a model the caller uploaded for checkout; a customer's waits for approval
        unless the shop setting approves customers' models at once."""
        details = self._checked(ModelDetails.parse(fields))
        session = self.sessions.get_session(session_id)
        if session is None or session.owner_id != by.user_id:
            raise NotFound("upload session not found; upload the model again")
        model_id = uuid4()
        self.files.put_upload(model_id, session.model)
        return self._add(model_id, details, session.model, session.summary, by)

    def _add(
        self,
        model_id: UUID,
        details: ModelDetails,
        stored: StoredModel,
        summary: MeshSummary,
        by: Person,
    ) -> ModelChange:
        model = CatalogModel.upload(
            model_id,
            details,
            owner_id=by.user_id,
            owner_role=by.role,
            file=asdict(stored),
            mesh=summary.to_dict(),
            auto_approve_customers=bool(self.shop.value(AUTO_APPROVE_SETTING)),
            actor=by.actor,
        )
        try:
            position = self.catalog.save_new(model)
        except Exception:
            self.files.delete(model_id)  # nothing refers to it: a fresh id
            raise
        return ModelChange(model, position)

    # Reading.

    def get(self, model_id: UUID) -> CatalogModel:
        """A live model (staff's view), or NotFound."""
        model = self.catalog.find(model_id, CatalogModel)
        if model is None or model.deleted:
            raise NotFound(NOT_FOUND)
        return model

    def visible(self, model_id: UUID, viewer: Person | None) -> CatalogModel:
        """The model if the viewer may see it: listed for anyone, else its owner and staff.

        Anyone else gets NotFound, as if it did not exist (an unlisted model stays unknown).
        """
        model = self.catalog.find(model_id, CatalogModel)
        if model is None or model.deleted:
            raise NotFound(NOT_FOUND)
        if model.listed or (viewer and (viewer.is_staff or viewer.user_id == model.owner_id)):
            return model
        raise NotFound(NOT_FOUND)

    def file(self, model: CatalogModel) -> Path:
        """Where the model's file is, or NotFound when it is gone."""
        path = self.files.path(UUID(str(model.id)))
        if path is None:
            raise NotFound("this model's file is missing")
        return path

    # Staff changes.

    def moderate(
        self, model_id: UUID, *, is_approved: bool | None, is_public: bool | None, actor: str
    ) -> ModelChange:
        """Approve or withdraw approval, show or hide."""
        if is_approved is None and is_public is None:
            raise InvalidInput("send is_approved and/or is_public")
        model = self.get(model_id)
        model.moderate(is_approved=is_approved, is_public=is_public, actor=actor)
        return self._save(model)

    def update(self, model_id: UUID, fields: dict[str, Any], *, actor: str) -> ModelChange:
        """Replace the listing's details (a description left out stays as it is)."""
        model = self.get(model_id)
        if fields.get("description") is None:
            fields = {**fields, "description": model.details.get("description", "")}
        model.update(self._checked(ModelDetails.parse(fields)), actor=actor)
        return self._save(model)

    def change_meta(self, model_id: UUID, changes: dict[str, Any], *, actor: str) -> ModelChange:
        """New SEO metadata; the fields sent replace theirs. 409 when the slug is taken.

        The slug's claim and the model's change are saved together: of two models taking
        one slug at once, exactly one gets it (the other loses the claim stream's race).
        """
        model = self.get(model_id)
        meta = SeoMeta.parse({**model.meta, **changes})
        before = model.slug
        model.change_meta(meta, actor=actor)
        if not model.pending_events:
            return ModelChange(model, self.catalog.position())
        claims = self._slug_claims(model, before, meta.slug, actor=actor)
        try:
            position = last_position(self.catalog.save(model, *claims))
        except IntegrityError as error:
            if meta.slug and self._holder(meta.slug) not in (None, str(model.id)):
                raise taken(meta.slug) from error
            raise Conflict("this model was changed by someone else; reload and retry") from error
        return ModelChange(model, position)

    def delete(self, model_id: UUID, *, actor: str) -> int:
        """Delete the record (its slug is freed) and then its file; the position written."""
        model = self.get(model_id)
        model.delete(actor=actor)
        claims = self._slug_claims(model, model.slug, None, actor=actor)
        position = self._save(model, *claims).position
        self.files.delete(model_id)
        return position

    # Checkout (application.checkout.CatalogSource).

    def orderable(self, model_id: str, customer_id: str) -> CatalogItem:
        """A listed model, or the customer's own; NotFound for anything else."""
        try:
            uid = UUID(str(model_id))
        except ValueError as error:
            raise NotFound(NOT_FOUND) from error
        model = self.catalog.find(uid, CatalogModel)
        if model is None or model.deleted:
            raise NotFound(NOT_FOUND)
        if not (model.listed or model.owner_id == customer_id):
            raise NotFound(NOT_FOUND)
        return CatalogItem(
            model_id=str(uid),
            file=StoredModel(**model.file),
            summary=MeshSummary.from_dict(model.mesh),
            price_paise=model.current.price_paise,
        )

    def file_for_order(self, item: CatalogItem) -> StoredModel:
        """The model's file copied among the order files."""
        return self.files.copy_for_order(UUID(item.model_id), item.file)

    # Rules that need other records.

    def _checked(self, details: ModelDetails) -> ModelDetails:
        """Refuse an unknown category, material or colour (422); the colour's spelling is
        the material's own (the material's default when none is given)."""
        category = self.catalog.find(UUID(details.category_id), Category)
        if category is None or category.deleted:
            raise InvalidInput(f"category_id: no category {details.category_id}")
        material = self.catalog.material(details.material)
        color = material.resolve_color(details.color or None)
        if color == details.color:
            return details
        return ModelDetails(**{**details.to_dict(), "color": color})

    def _slug_claims(
        self, model: CatalogModel, before: str | None, slug: str | None, *, actor: str
    ) -> list[Aggregate]:
        """The claim streams a slug change writes: the new slug's claim, the old one freed."""
        if before == slug:
            return []
        changed: list[Aggregate] = []
        if slug:
            claim = self.catalog.find(slug_claim_id(slug), SlugClaim)
            if claim is None:
                claim = SlugClaim.first(slug, UUID(str(model.id)), actor=actor)
            else:
                claim.claim(UUID(str(model.id)), actor=actor)  # 409 when another model holds it
            changed.append(claim)
        if before:
            old = self.catalog.find(slug_claim_id(before), SlugClaim)
            if old is not None and old.model_id == str(model.id):
                old.release(actor=actor)
                changed.append(old)
        return changed

    def _holder(self, slug: str) -> str | None:
        claim = self.catalog.find(slug_claim_id(slug), SlugClaim)
        return claim.model_id if claim else None

    def _save(self, model: CatalogModel, *others: Aggregate) -> ModelChange:
        """Save what changed (nothing: the head); a lost race is a 409."""
        if not model.pending_events:
            return ModelChange(model, self.catalog.position())
        return ModelChange(model, self.catalog.save_new(model, *others))
