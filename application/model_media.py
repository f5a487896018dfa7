"""Catalog model media use cases: preview images (owners and staff) and likes (customers).

Images: the bytes are sanitised (ports.ImageSanitiser) and stored by content hash
(ports.ImageStore); the CatalogModel stream records ImageSet / ImageRemoved with the actor.
Likes: one ModelLike stream per (model, customer) in the catalog's log, beside the models;
the counts are projections of it, read by the API once they include the toggle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.persistence import IntegrityError

from application.base import last_position
from application.catalog_models import NOT_FOUND, CatalogModels, Person
from application.ports import ImageSanitiser, ImageStore
from domain.catalog_models import CatalogModel
from domain.errors import Conflict, Forbidden, NotFound
from domain.model_media import ModelLike, PreviewImage, like_id_for

# A save that lost a race reloads the stream and applies the same change again: setting an
# image and toggling a like are both meant to apply to whatever the stream holds now.
ATTEMPTS = 5
NOT_OWNER = "only the model's owner may change its image here (staff: /api/admin)"


@dataclass(frozen=True)
class ImageChange:
    """A model's preview image after a command, and the position written (0: no change)."""

    model_id: UUID
    image: PreviewImage | None
    position: int


@dataclass(frozen=True)
class LikeToggle:
    """Whether the customer likes the model now, and the position the toggle wrote."""

    liked: bool
    position: int


class ModelMedia:
    """Images and likes of catalog models, saved in the catalog application."""

    def __init__(self, models: CatalogModels, sanitiser: ImageSanitiser, store: ImageStore) -> None:
        self.models = models
        self.catalog = models.catalog
        self.sanitiser = sanitiser
        self.store = store

    def set_image(self, model_id: UUID, data: bytes, *, by: Person, as_staff: bool) -> ImageChange:
        """Sanitise, store and record the image: staff (as_staff) on any model, others on
        their own. A model the caller may not see is 404, one not theirs 403, both before
        the upload is decoded."""
        if as_staff:
            self.models.get(model_id)
        elif self.models.visible(model_id, by).owner_id != by.user_id:
            raise Forbidden(NOT_OWNER)
        clean = self.sanitiser.clean(data)  # CPU-bound: callers run this off the event loop
        self.store.put(clean)
        image = PreviewImage(clean.sha256, clean.format, clean.width, clean.height)
        return self._change(model_id, lambda model: model.set_image(image, actor=by.actor))

    def remove_image(self, model_id: UUID, *, actor: str) -> ImageChange:
        """Staff remove the preview image (no change when there is none)."""
        return self._change(model_id, lambda model: model.remove_image(actor=actor))

    def image(self, model_id: UUID, viewer: Person | None) -> tuple[bytes, str]:
        """The image's bytes and content type, for whoever may see the model."""
        image = self.models.visible(model_id, viewer).preview_image
        data = self.store.read(image.sha256, image.format) if image else None
        if image is None or data is None:
            raise NotFound("this model has no image")
        return data, image.content_type

    def toggle_like(self, model_id: UUID, *, by: Person) -> LikeToggle:
        """Like a listed model if the customer does not yet, else unlike it."""
        model = self.catalog.find(model_id, CatalogModel)
        if model is None or not model.listed:
            raise NotFound(NOT_FOUND)
        user_id = UUID(by.user_id)
        like_id = like_id_for(model_id, user_id)
        for _ in range(ATTEMPTS):
            like = self.catalog.find(like_id, ModelLike)
            if like is None:
                like = ModelLike.start(model_id, user_id, actor=by.actor)
            liked = like.toggle(actor=by.actor)
            try:
                return LikeToggle(liked, last_position(self.catalog.save(like)))
            except IntegrityError:
                continue  # the same customer's other toggle saved first: ours goes after it
        raise Conflict("this like is being changed by many requests at once; retry")

    def _change(self, model_id: UUID, change: Callable[[CatalogModel], None]) -> ImageChange:
        for _ in range(ATTEMPTS):
            model = self.models.get(model_id)
            change(model)
            if not model.pending_events:
                return ImageChange(model_id, model.preview_image, 0)
            try:
                position = last_position(self.catalog.save(model))
            except IntegrityError:
                continue  # someone else changed the model meanwhile: reload, apply again
            return ImageChange(model_id, model.preview_image, position)
        raise Conflict("this model is being changed by many requests at once; retry")
