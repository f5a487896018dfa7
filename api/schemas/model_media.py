"""Catalog model media: preview images and likes."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PreviewImageInfo(BaseModel):
    """A model's preview image as stored: re-encoded, metadata dropped."""

    url: str = Field(description="Where it is served: GET /api/models/{id}/image.")
    format: str = Field(description="jpeg, png or webp (the upload's own format).")
    content_type: str
    width: int
    height: int
    sha256: str = Field(description="SHA-256 of the stored (re-encoded) bytes.")


class ImageChanged(BaseModel):
    """The model's preview image after the command (null once removed), whether it changed,
    and the log position written (0 when nothing changed)."""

    model_id: str
    image: PreviewImageInfo | None
    changed: bool
    position: int


class LikeToggled(BaseModel):
    """Whether the caller likes the model now, and how many customers do.

    total_likes counts every toggle up to this one's position (send `position` as
    X-Min-Position to read the catalog at least that far).
    """

    liked: bool
    total_likes: int
    position: int
