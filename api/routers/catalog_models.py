"""The public catalog, customers sharing their models, and the 3D viewer's file stream.

Not in the seed, decided here: a customer shares a model they uploaded with
`POST /api/models` (JSON: the session_id of POST /api/upload-for-cart and the listing's
fields); it waits for approval unless the shop setting approves customers' models at once
(staff who share are approved like their uploads). The storefront lists and shows only
approved public models; the file stream also serves a model's owner and staff.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from api.deps import CallerDep, ContainerDep, MaybeCallerDep, parse_id, read_after
from api.model_files import FILE_RESPONSES, model_file
from api.schemas.catalog_models import PublicModel, PublicModelPage, SharedModel
from api.schemas.errors import ANY, READ_AFTER, SIGNED_IN, WITH_BODY, errors
from api.text import TextBody
from application.catalog_models import Person
from domain.catalog_models import MAX_DESCRIPTION, MAX_NAME, CatalogModel, status_of
from domain.errors import InvalidInput, NotFound
from domain.money import rupees_json
from projections.catalog import SORTS
from projections.catalog_queries import MAX_PAGE, MAX_PAGE_SIZE, CatalogQuery, find_model
from projections.catalog_queries import list_models as list_catalog

router = APIRouter(prefix="/api", tags=["catalog models"])

NOT_FOUND = "catalog model not found"


def _info(
    model_id: str, details: dict[str, Any], meta: dict[str, Any], **rest: Any
) -> dict[str, Any]:
    price = details.get("price_paise")
    image = rest.pop("image", None)
    return {
        "id": model_id,
        "name": details["name"],
        "description": details.get("description") or "",
        "category_id": details["category_id"],
        "material": details["material"],
        "color": details["color"],
        "price": None if price is None else rupees_json(int(price)),
        "notes": details.get("notes") or "",
        "seo_title": meta.get("seo_title") or "",
        "seo_description": meta.get("seo_description") or "",
        "slug": meta.get("slug") or None,
        "file_url": f"/api/models/{model_id}/file",
        "image_url": f"/api/models/{model_id}/image" if image else None,
        "status": status_of(rest["is_approved"], rest["is_public"]),
        **rest,
    }


def model_info(model: CatalogModel) -> dict[str, Any]:
    """A model (the aggregate) with every field any caller may see; the response model of
    the route picks the caller's share."""
    return _info(
        str(model.id),
        model.details,
        model.meta,
        filename=model.file["filename"],
        size_bytes=model.file["size_bytes"],
        sha256=model.file["sha256"],
        mesh=model.mesh,
        is_approved=model.is_approved,
        is_public=model.is_public,
        owner_id=model.owner_id,
        owner_role=model.owner_role,
        image=model.image,
        created_at=model.created_on.isoformat(),
        updated_at=model.modified_on.isoformat(),
    )


_ROW_REST = (
    "filename",
    "size_bytes",
    "sha256",
    "mesh",
    "is_approved",
    "is_public",
    "owner_id",
    "owner_role",
    "created_at",
    "updated_at",
    "likes_total",
    "image",
)


def row_info(row: dict[str, Any]) -> dict[str, Any]:
    """A row of the catalog view in the same shape as model_info (with likes_total)."""
    details = {k: row[k] for k in ("name", "description", "category_id", "material", "color")}
    details |= {"price_paise": row["price_paise"], "notes": row["notes"]}
    meta = {k: row[k] for k in ("seo_title", "seo_description", "slug")}
    return _info(str(row["id"]), details, meta, **{k: row[k] for k in _ROW_REST})


def category_filter(category_id: str | None) -> str | None:
    """A category id to filter by (422 for text that cannot be one)."""
    if category_id is None:
        return None
    try:
        return str(UUID(category_id))
    except ValueError as error:
        raise InvalidInput("category_id: not a category's id") from error


def catalog_query(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    category_id: Annotated[str | None, Query(max_length=36)] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="words, each matched as a prefix")
    ] = None,
    sort: Annotated[str, Query(max_length=20, description="newest, popular or price")] = "newest",
) -> CatalogQuery:
    """Validated storefront filters."""
    if sort not in SORTS:
        raise InvalidInput(f"unknown sort '{sort}'; expected one of {', '.join(SORTS)}")
    return CatalogQuery(
        page=page, limit=limit, q=q, category_id=category_filter(category_id), sort=sort
    )


@router.get(
    "/catalog",
    response_model=PublicModelPage,
    responses=errors(*ANY, *READ_AFTER),
    dependencies=[read_after("catalog", None)],
)
def catalog(
    container: ContainerDep, query: Annotated[CatalogQuery, Depends(catalog_query)]
) -> dict[str, Any]:
    """Approved public models, paged; `q` searches names, descriptions, SEO text, material
    and colour (every word, as a prefix); sort newest (default), popular or price (cheapest
    first; models priced by the cost engine after those with a price)."""
    with container.views.reading() as cur:
        rows, total = list_catalog(cur, query)
    return {
        "models": [row_info(r) for r in rows],
        "page": query.page,
        "limit": query.limit,
        "total": total,
    }


@router.get(
    "/catalog/{model_id}",
    response_model=PublicModel,
    responses=errors(*ANY, *READ_AFTER, 404),
    dependencies=[read_after("catalog", None)],
)
def catalog_model(model_id: str, container: ContainerDep) -> dict[str, Any]:
    """One approved public model (404 for any other)."""
    with container.views.reading() as cur:
        row = find_model(cur, str(parse_id(model_id, "catalog model")))
    if row is None or row["status"] != "approved":
        raise NotFound(NOT_FOUND)
    return row_info(row)


@router.get(
    "/models/{model_id}/file",
    response_model=None,
    response_class=Response,
    responses={**FILE_RESPONSES, **errors(*ANY, 400, 401, 403, 404, 416)},
)
def model_file_stream(
    model_id: str,
    viewer: MaybeCallerDep,
    container: ContainerDep,
    range_header: Annotated[str | None, Header(alias="Range", max_length=200)] = None,
) -> Response:
    """The model's file for the 3D viewer, honouring byte ranges (206, Content-Range; 416).

    Approved public models for anyone; others for their owner and staff only (404 to the
    rest, as if there were no such model). A Bearer token is optional; a PAT is refused.
    """
    person = Person(viewer.id, viewer.user.role) if viewer else None
    models = container.catalog_models
    model = models.visible(parse_id(model_id, "catalog model"), person)
    path = models.file(model)
    return model_file(
        path, model.file["filename"], model.mesh["file_format"], range_header, download=False
    )


class ShareBody(TextBody):
    multiline = frozenset({"description"})

    session_id: str = Field(max_length=64, description="From POST /api/upload-for-cart.")
    name: str = Field(max_length=MAX_NAME)
    category_id: str = Field(max_length=36)
    material: str = Field(max_length=20)
    color: str | None = Field(default=None, max_length=40)
    description: str = Field(default="", max_length=MAX_DESCRIPTION)


@router.post(
    "/models",
    status_code=201,
    response_model=SharedModel,
    responses=errors(*SIGNED_IN, *WITH_BODY, 404),
)
async def share_model(
    body: ShareBody, caller: CallerDep, container: ContainerDep, response: Response
) -> dict[str, Any]:
    """Share a model you uploaded (its upload session) in the catalog.

    It waits for approval unless the shop approves customers' models at once (setting
    catalog_auto_approve_customer_models); a moderator's or admin's is approved at once.
    404 for an upload session that is not yours; 422 for an unknown category or material.
    """
    fields = body.model_dump(exclude={"session_id"})
    by = Person(caller.id, caller.user.role, caller.actor)
    change = await run_in_threadpool(container.catalog_models.share, body.session_id, fields, by=by)
    response.headers["X-Position"] = str(change.position)
    return {"model": model_info(change.model), "position": change.position}
