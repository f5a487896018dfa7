"""Catalog moderation for staff, mounted for admins (/api/admin) and moderators (/api/mod).

Seed scopes (admin mount): the list and the download take catalog:read; approval,
metadata, the full update and deletion catalog:write; the upload is JWT only. Moderators
(the seed's subset) list, edit metadata and download, JWT only like every /api/mod route.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, Response, UploadFile
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from api.deps import Caller, ContainerDep, parse_id, read_after, require_role, staff_auth
from api.model_files import FILE_RESPONSES, model_file
from api.routers.catalog_models import category_filter, model_info, row_info
from api.schemas.catalog_models import ChangedModel, StaffModelPage
from api.schemas.errors import MULTIPART, READ_AFTER, STAFF, WITH_BODY, errors
from api.schemas.fleet import Deleted
from api.text import TextBody, check_text, refuse_empty_fields
from api.uploads import read_upload
from application.catalog_models import ModelChange, Person
from domain.catalog_models import (
    MAX_DESCRIPTION,
    MAX_NAME,
    MAX_NOTES,
    MAX_SEO_DESCRIPTION,
    MAX_SEO_TITLE,
    MAX_SLUG,
)
from domain.errors import InvalidInput
from domain.users import ADMIN, MODERATOR
from projections.catalog_queries import (
    ADMIN_STATUSES,
    MAX_PAGE,
    MAX_PAGE_SIZE,
    CatalogQuery,
    list_models,
)

Price = float | str | None
PRICE = (
    "Fixed price per copy in rupees before GST (a number or a decimal string, whole paise);"
    " null or left out: priced by the cost engine."
)


class ModerationBody(TextBody):
    is_approved: bool | None = None
    is_public: bool | None = None


class MetaBody(TextBody):
    seo_title: str | None = Field(default=None, max_length=MAX_SEO_TITLE)
    seo_description: str | None = Field(default=None, max_length=MAX_SEO_DESCRIPTION)
    slug: str | None = Field(
        default=None, max_length=MAX_SLUG, description="Unique; null or empty removes it."
    )


class ModelBody(TextBody):
    multiline = frozenset({"notes", "description"})

    name: str = Field(max_length=MAX_NAME)
    category_id: str = Field(max_length=36)
    material: str = Field(max_length=20)
    color: str | None = Field(default=None, max_length=40)
    price: Price = Field(default=None, description=PRICE)
    notes: str = Field(default="", max_length=MAX_NOTES)
    description: str | None = Field(
        default=None, max_length=MAX_DESCRIPTION, description="Left out: kept as it is."
    )


def staff_query(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    q: Annotated[str | None, Query(max_length=200)] = None,
    status: Annotated[
        str, Query(max_length=20, description="approved, pending, hidden or all")
    ] = "all",
    category_id: Annotated[str | None, Query(max_length=36)] = None,
) -> CatalogQuery:
    """Validated staff filters (newest first)."""
    if status not in ADMIN_STATUSES:
        raise InvalidInput(
            f"unknown status '{status}'; expected one of {', '.join(ADMIN_STATUSES)}"
        )
    return CatalogQuery(
        page=page, limit=limit, q=q, category_id=category_filter(category_id), status=status
    )


def _changed(response: Response, change: ModelChange) -> dict[str, Any]:
    response.headers["X-Position"] = str(change.position)
    return {"model": model_info(change.model), "position": change.position}


def models_router(prefix: str, *roles: str, full: bool) -> APIRouter:
    """The model routes for these roles; moderators get the seed's subset (full=False)."""
    router = APIRouter(prefix=prefix, tags=["catalog models"], responses=errors(*STAFF))
    CatalogRead = Annotated[Caller, staff_auth(roles, "catalog:read")]
    CatalogWrite = Annotated[Caller, staff_auth(roles, "catalog:write")]

    @router.get(
        "/models",
        response_model=StaffModelPage,
        responses=errors(*READ_AFTER),
        dependencies=[read_after("catalog", CatalogRead)],
    )
    def models(
        _: CatalogRead,
        container: ContainerDep,
        query: Annotated[CatalogQuery, Depends(staff_query)],
    ) -> dict[str, Any]:
        """Every model, unapproved too, newest first; `status` filters (approved, pending,
        hidden, all), `q` searches like the storefront's."""
        with container.views.reading() as cur:
            rows, total = list_models(cur, query)
        return {
            "models": [row_info(r) for r in rows],
            "page": query.page,
            "limit": query.limit,
            "total": total,
        }

    @router.patch(
        "/models/{model_id}/meta",
        response_model=ChangedModel,
        responses=errors(*WITH_BODY, 404, 409),
    )
    def meta(
        model_id: str,
        body: MetaBody,
        caller: CatalogWrite,
        container: ContainerDep,
        response: Response,
    ) -> dict[str, Any]:
        """SEO metadata: the fields sent replace theirs. 409 when another model has the slug."""
        changes = body.model_dump(include=body.model_fields_set)
        change = container.catalog_models.change_meta(
            parse_id(model_id, "catalog model"), changes, actor=caller.actor
        )
        return _changed(response, change)

    @router.get(
        "/models/{model_id}/download",
        response_model=None,
        response_class=Response,
        responses={**FILE_RESPONSES, **errors(400, 404, 416)},
    )
    def download(
        model_id: str,
        _: CatalogRead,
        container: ContainerDep,
        range_header: Annotated[str | None, Header(alias="Range", max_length=200)] = None,
    ) -> Response:
        """The model's file as an attachment, whatever its status."""
        model = container.catalog_models.get(parse_id(model_id, "catalog model"))
        path = container.catalog_models.file(model)
        return model_file(
            path, model.file["filename"], model.mesh["file_format"], range_header, download=True
        )

    if not full:
        return router

    @router.patch(
        "/models/{model_id}", response_model=ChangedModel, responses=errors(*WITH_BODY, 404, 409)
    )
    def moderate(
        model_id: str,
        body: ModerationBody,
        caller: CatalogWrite,
        container: ContainerDep,
        response: Response,
    ) -> dict[str, Any]:
        """Approve or withdraw approval (is_approved), show or hide (is_public)."""
        change = container.catalog_models.moderate(
            parse_id(model_id, "catalog model"),
            is_approved=body.is_approved,
            is_public=body.is_public,
            actor=caller.actor,
        )
        return _changed(response, change)

    @router.put(
        "/models/{model_id}", response_model=ChangedModel, responses=errors(*WITH_BODY, 404, 409)
    )
    def update(
        model_id: str,
        body: ModelBody,
        caller: CatalogWrite,
        container: ContainerDep,
        response: Response,
    ) -> dict[str, Any]:
        """Replace name, category, material, colour, price and notes (a description left
        out stays). 422 for an unknown category or material."""
        change = container.catalog_models.update(
            parse_id(model_id, "catalog model"), body.model_dump(), actor=caller.actor
        )
        return _changed(response, change)

    @router.delete("/models/{model_id}", response_model=Deleted, responses=errors(404, 409))
    def delete(
        model_id: str, caller: CatalogWrite, container: ContainerDep, response: Response
    ) -> dict[str, Any]:
        """Delete the model and its file (orders placed from it keep their own copy)."""
        mid = parse_id(model_id, "catalog model")
        position = container.catalog_models.delete(mid, actor=caller.actor)
        response.headers["X-Position"] = str(position)
        return {"id": str(mid), "deleted": True, "position": position}

    Staff = Annotated[Caller, Depends(require_role(*roles))]  # JWT only (seed)

    @router.post(
        "/catalog-models",
        status_code=201,
        response_model=ChangedModel,
        responses=errors(*MULTIPART),
    )
    async def upload(
        request: Request,
        caller: Staff,
        container: ContainerDep,
        response: Response,
        model_file: Annotated[UploadFile, File()],
        name: Annotated[str, Form(max_length=MAX_NAME)],
        category_id: Annotated[str, Form(max_length=36)],
        material: Annotated[str, Form(max_length=20)],
        color: Annotated[str | None, Form(max_length=40)] = None,
        price: Annotated[str | None, Form(max_length=20, description=PRICE)] = None,
        description: Annotated[str, Form(max_length=MAX_DESCRIPTION)] = "",
        notes: Annotated[str, Form(max_length=MAX_NOTES)] = "",
    ) -> dict[str, Any]:
        """Upload a model to the catalog, analysed like any upload and approved at once."""
        form = await request.form()  # parsed already for the fields above: no second read
        refuse_empty_fields(form, ("color", "price"))
        for field, value in form.multi_items():
            if isinstance(value, str):
                check_text(field, value, multiline=field in ("description", "notes"))
        fields = {
            "name": name,
            "category_id": category_id,
            "material": material,
            "color": color,
            "price": price,
            "description": description,
            "notes": notes,
        }
        by = Person(caller.id, caller.user.role, caller.actor)
        # Queued callers keep their file spooled on disk: only admitted ones read it in.
        async with container.uploads.admitted():
            data, filename = await read_upload(model_file, container.settings.max_file_bytes)
            # Mesh analysis is CPU work: keep it off the event loop.
            change = await run_in_threadpool(
                container.catalog_models.upload, data, filename, fields, by=by
            )
        return _changed(response, change)

    return router


admin_router = models_router("/api/admin", ADMIN, full=True)
moderator_router = models_router("/api/mod", MODERATOR, ADMIN, full=False)
