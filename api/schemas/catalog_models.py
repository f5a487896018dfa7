"""Catalog models as the storefront, their owners and staff see them."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.catalog import MeshInfo


class ModelInfo(BaseModel):
    """What anyone who may see a model sees: its listing, geometry and file."""

    id: str
    name: str
    description: str
    category_id: str
    material: str
    color: str
    price: float | None = Field(
        description="Fixed price per copy in rupees before GST; null: priced by the cost"
        " engine from the model's geometry and the chosen material and infill."
    )
    filename: str
    size_bytes: int
    mesh: MeshInfo
    file_url: str
    image_url: str | None = Field(
        default=None, description="The preview image (GET), when the model has one."
    )
    seo_title: str
    seo_description: str
    slug: str | None
    created_at: str
    updated_at: str


class PublicModel(ModelInfo):
    """A model in the storefront (approved and public)."""

    likes_total: int


class OwnedModel(ModelInfo):
    """A model as its owner sees it: with where it stands in moderation."""

    is_approved: bool
    is_public: bool
    status: str = Field(description="approved (in the storefront), pending or hidden")


class StaffModel(OwnedModel):
    """A model as staff see it: with its owner, staff notes and the file's hash."""

    owner_id: str
    owner_role: str
    notes: str
    sha256: str


class StaffListedModel(StaffModel):
    """A row of staff's model list."""

    likes_total: int


class PublicModelPage(BaseModel):
    """A page of the storefront's catalog."""

    models: list[PublicModel]
    page: int
    limit: int
    total: int


class StaffModelPage(BaseModel):
    """A page of every model, whatever its status."""

    models: list[StaffListedModel]
    page: int
    limit: int
    total: int


class SharedModel(BaseModel):
    """A model a customer shared, and the position its event was written at."""

    model: OwnedModel
    position: int


class ChangedModel(BaseModel):
    """A model after a staff change, and the position written (the head if nothing changed)."""

    model: StaffModel
    position: int
