"""Print config — categories: admin CRUD, moderators read, the public list."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from api.deps import Caller, ContainerDep, parse_id, require_role, staff_auth
from api.schemas.errors import ANY, STAFF, WITH_BODY, errors
from api.schemas.fleet import (
    CategoryBody,
    CategoryChanges,
    CategoryList,
    ChangedCategory,
    Deleted,
)
from domain.fleet.categories import Category
from domain.users import ADMIN, MODERATOR


def category_info(category: Category) -> dict[str, Any]:
    """A category as everyone sees it."""
    return {"id": str(category.id), **category.spec}


public_router = APIRouter(tags=["print config"])


@public_router.get("/api/categories", response_model=CategoryList, responses=errors(*ANY))
def public_categories(container: ContainerDep) -> dict[str, Any]:
    """All product categories, in display order."""
    return {"categories": [category_info(c) for c in container.print_config.categories()]}


def categories_router(prefix: str, *roles: str, writable: bool) -> APIRouter:
    """The category routes for these roles; moderators only read (per the seed)."""
    router = APIRouter(prefix=prefix, tags=["print config"], responses=errors(*STAFF))
    Staff = Annotated[Caller, Depends(require_role(*roles))]  # JWT only
    # Seed: admins' reads take catalog:read (a PAT may); moderators' are JWT only.
    CatalogRead = Annotated[Caller, staff_auth(roles, "catalog:read")]

    @router.get("/categories", response_model=CategoryList)
    def categories(_: CatalogRead, container: ContainerDep) -> dict[str, Any]:
        """All categories, in display order."""
        return {"categories": [category_info(c) for c in container.print_config.categories()]}

    if not writable:
        return router

    def _changed(response: Response, category: Category, position: int) -> dict[str, Any]:
        response.headers["X-Position"] = str(position)
        return {"category": category_info(category), "position": position}

    # Seed: JWT only.
    @router.post(
        "/categories",
        status_code=201,
        response_model=ChangedCategory,
        responses=errors(*WITH_BODY, 409),
    )
    def add(
        body: CategoryBody, caller: Staff, container: ContainerDep, response: Response
    ) -> dict[str, Any]:
        """Create a category (409 if the name is taken)."""
        category, position = container.print_config.add_category(
            body.model_dump(), actor=caller.actor
        )
        return _changed(response, category, position)

    # Seed: JWT only.
    @router.put(
        "/categories/{category_id}",
        response_model=ChangedCategory,
        responses=errors(*WITH_BODY, 404, 409),
    )
    def update(
        category_id: str,
        body: CategoryChanges,
        caller: Staff,
        container: ContainerDep,
        response: Response,
    ) -> dict[str, Any]:
        """Change a category."""
        category, position = container.print_config.update_category(
            parse_id(category_id, "category"),
            body.model_dump(exclude_none=True),
            actor=caller.actor,
        )
        return _changed(response, category, position)

    # Seed: JWT only.
    @router.delete("/categories/{category_id}", response_model=Deleted, responses=errors(404, 409))
    def delete(
        category_id: str, caller: Staff, container: ContainerDep, response: Response
    ) -> dict[str, Any]:
        """Delete a category; 409 while catalog models use it."""
        cid = parse_id(category_id, "category")
        position = container.print_config.delete_category(cid, actor=caller.actor)
        response.headers["X-Position"] = str(position)
        return {"id": str(cid), "deleted": True, "position": position}

    return router


admin_router = categories_router("/api/admin", ADMIN, writable=True)
moderator_router = categories_router("/api/mod", MODERATOR, ADMIN, writable=False)
