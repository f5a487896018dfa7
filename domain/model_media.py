"""Catalog model media: the preview image reference, and the ModelLike aggregate.

A preview image is recorded on the CatalogModel stream (ImageSet / ImageRemoved) by its
content hash, format and size: never the bytes, which live in a content-addressed store.

Likes: one stream per (model, customer), its id derived from both, holding Liked and
Unliked in strict alternation. Each customer's toggles serialise on their own stream, so
many customers liking one model at once never contend; the counts are a projection.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput

MAX_IMAGE_BYTES = 10 * 1024 * 1024  # the cap on an uploaded preview image
# format: (content type, file extension)
IMAGE_FORMATS: dict[str, tuple[str, str]] = {
    "jpeg": ("image/jpeg", "jpg"),
    "png": ("image/png", "png"),
    "webp": ("image/webp", "webp"),
}
NOT_AN_IMAGE = "image: must be a JPEG, PNG or WebP image"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
MAX_SIDE = 100_000


@dataclass(frozen=True)
class PreviewImage:
    """A stored preview image as events name it: content hash, format and pixel size."""

    sha256: str
    format: str
    width: int
    height: int

    def __post_init__(self) -> None:
        if not _SHA256.match(self.sha256):
            raise InvalidInput("image: sha256 must be 64 lower-case hex digits")
        if self.format not in IMAGE_FORMATS:
            raise InvalidInput(NOT_AN_IMAGE)
        for side in (self.width, self.height):
            if isinstance(side, bool) or not isinstance(side, int) or not 0 < side <= MAX_SIDE:
                raise InvalidInput(f"image: width and height must be 1-{MAX_SIDE} pixels")

    @property
    def content_type(self) -> str:
        """The media type it is served with."""
        return IMAGE_FORMATS[self.format][0]

    @property
    def extension(self) -> str:
        """The file extension it is stored under."""
        return IMAGE_FORMATS[self.format][1]

    def to_dict(self) -> dict[str, Any]:
        """Primitive form, safe to store in an event."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PreviewImage:
        """Rebuild from the primitive form."""
        return cls(
            sha256=str(data["sha256"]),
            format=str(data["format"]),
            width=int(data["width"]),
            height=int(data["height"]),
        )


def like_id_for(model_id: UUID, user_id: UUID) -> UUID:
    """The stream id of one customer's like of one model (found without an index)."""
    return uuid5(NAMESPACE_URL, f"fabledger:model-like:{model_id}/{user_id}")


class ModelLike(Aggregate):
    """Whether one customer likes one catalog model; every toggle is an event."""

    liked: bool = False

    class LikeStarted(Aggregate.Created):
        """The first toggle of this customer on this model opened the stream."""

        model_id: str
        user_id: str
        actor: str

    @event(LikeStarted)
    def __init__(self, *, id: UUID, model_id: str, user_id: str, actor: str) -> None:
        self.model_id = model_id
        self.user_id = user_id

    @classmethod
    def start(cls, model_id: UUID, user_id: UUID, *, actor: str) -> ModelLike:
        """A new stream for this (model, customer), not liked yet."""
        return cls(
            id=like_id_for(model_id, user_id),
            model_id=str(model_id),
            user_id=str(user_id),
            actor=actor,
        )

    def toggle(self, *, actor: str) -> bool:
        """Like if not liked, else unlike; returns whether it is liked now."""
        if self.liked:
            self._unliked(model_id=self.model_id, user_id=self.user_id, actor=actor)
        else:
            self._liked(model_id=self.model_id, user_id=self.user_id, actor=actor)
        return self.liked

    # The ids ride on every toggle so a projection folds it without reading the stream.
    @event("Liked")
    def _liked(self, model_id: str, user_id: str, actor: str) -> None:
        self.liked = True

    @event("Unliked")
    def _unliked(self, model_id: str, user_id: str, actor: str) -> None:
        self.liked = False
