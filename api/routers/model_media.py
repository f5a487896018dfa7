"""Catalog model media: preview images (owner, staff, served) and likes.

Seed: POST /api/models/:id/image (a model you own), POST and DELETE
/api/admin/models/:id/image (scope catalog:write), POST /api/catalog/:id/like (signed in;
toggles; answers liked and total_likes). Not in the seed, decided here: GET
/api/models/:id/image serves the image (public for listed models, else the owner's and
staff's), with nosniff. Uploads are recognised by content, never by name or declared type;
more than 10 MB is 413 (like every other upload cap), anything else refused is 422.
"""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, File, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from api import csp
from api.deps import Caller, CallerDep, CatalogWriteDep, ContainerDep, MaybeCallerDep, parse_id
from api.schemas.errors import MULTIPART, SIGNED_IN, STAFF, errors
from api.schemas.model_media import ImageChanged, LikeToggled
from application.catalog_models import Person
from application.model_media import ImageChange, LikeToggle
from domain.errors import FileTooLarge, InvalidInput
from domain.model_media import IMAGE_FORMATS, MAX_IMAGE_BYTES
from infra.bootstrap import Container
from projections.model_media import likes_it, likes_total

LIKES_VIEW = "model_likes"
CHUNK = 1024 * 1024
WHAT = "catalog model"
log = structlog.get_logger("fabledger.model_media")

router = APIRouter(prefix="/api", tags=["catalog model media"])
admin_router = APIRouter(
    prefix="/api/admin", tags=["catalog model media"], responses=errors(*STAFF)
)
ImageField = Annotated[
    UploadFile,
    File(description="JPEG, PNG or WebP, at most 10 MB (recognised by content)."),
]
IMAGE_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The preview image (re-encoded, no metadata).",
        "content": {content_type: {} for content_type, _ in IMAGE_FORMATS.values()},
    }
}


async def read_image(upload: UploadFile) -> bytes:
    """The upload's bytes within the cap (413 past it); the file's name is ignored."""
    chunks, size = [], 0
    while chunk := await upload.read(CHUNK):
        size += len(chunk)
        if size > MAX_IMAGE_BYTES:
            raise FileTooLarge(f"image: larger than the {MAX_IMAGE_BYTES // CHUNK} MB limit")
        chunks.append(chunk)
    if size == 0:
        raise InvalidInput("image: the file is empty")
    return b"".join(chunks)


def person(caller: Caller) -> Person:
    """The caller as the catalog's use cases name people."""
    return Person(user_id=caller.id, role=caller.user.role, actor=caller.actor)


def _changed(response: Response, change: ImageChange) -> dict[str, Any]:
    response.headers["X-Position"] = str(change.position)
    image = change.image
    info = None
    if image is not None:
        info = {
            "url": f"/api/models/{change.model_id}/image",
            "format": image.format,
            "content_type": image.content_type,
            "width": image.width,
            "height": image.height,
            "sha256": image.sha256,
        }
    return {
        "model_id": str(change.model_id),
        "image": info,
        "changed": change.position > 0,
        "position": change.position,
    }


async def _set_image(
    container: Container, model_id: str, upload: UploadFile, caller: Caller, *, as_staff: bool
) -> ImageChange:
    mid = parse_id(model_id, WHAT)
    # Queued callers keep their upload spooled on disk: only admitted ones read and decode.
    async with container.image_uploads.admitted():
        data = await read_image(upload)
        return await run_in_threadpool(
            container.model_media.set_image, mid, data, by=person(caller), as_staff=as_staff
        )


@router.post(
    "/models/{model_id}/image",
    response_model=ImageChanged,
    responses=errors(*SIGNED_IN, *MULTIPART, 404, 409),
)
async def upload_own_image(
    model_id: str,
    image: ImageField,
    caller: CallerDep,
    container: ContainerDep,
    response: Response,
) -> dict[str, Any]:
    """Upload or replace the preview image of a model you own (403 if you do not)."""
    change = await _set_image(container, model_id, image, caller, as_staff=False)
    return _changed(response, change)


@router.get(
    "/models/{model_id}/image",
    response_class=Response,
    responses={**IMAGE_CONTENT, **errors(401, 403, 404, 422, 503)},
)
def serve_image(
    model_id: str,
    container: ContainerDep,
    caller: MaybeCallerDep,
) -> Response:
    """The preview image: public for listed models, else for the owner and staff only."""
    viewer = person(caller) if caller is not None else None
    data, content_type = container.model_media.image(parse_id(model_id, WHAT), viewer)
    headers = {
        "X-Content-Type-Options": "nosniff",
        csp.HEADER: csp.policy(csp.FILE),  # opened directly: nothing runs
        "Cache-Control": "no-cache",  # visibility can change: revalidate every time
    }
    return Response(data, media_type=content_type, headers=headers)


@admin_router.post(
    "/models/{model_id}/image",
    response_model=ImageChanged,
    responses=errors(*MULTIPART, 404, 409),
)
async def upload_image_as_staff(
    model_id: str,
    image: ImageField,
    caller: CatalogWriteDep,
    container: ContainerDep,
    response: Response,
) -> dict[str, Any]:
    """Upload or replace any model's preview image. Seed scope: catalog:write."""
    change = await _set_image(container, model_id, image, caller, as_staff=True)
    return _changed(response, change)


@admin_router.delete(
    "/models/{model_id}/image", response_model=ImageChanged, responses=errors(404, 409)
)
def remove_image(
    model_id: str, caller: CatalogWriteDep, container: ContainerDep, response: Response
) -> dict[str, Any]:
    """Remove the preview image (changed: false when there was none). Scope: catalog:write."""
    change = container.model_media.remove_image(parse_id(model_id, WHAT), actor=caller.actor)
    return _changed(response, change)


@router.post(
    "/catalog/{model_id}/like",
    response_model=LikeToggled,
    responses=errors(*SIGNED_IN, 404, 409),
)
async def toggle_like(
    model_id: str, caller: CallerDep, container: ContainerDep, response: Response
) -> dict[str, Any]:
    """Like a listed catalog model, or unlike it if you do; answers the exact count."""
    mid = parse_id(model_id, WHAT)
    toggled = await run_in_threadpool(container.model_media.toggle_like, mid, by=person(caller))
    total = await exact_total(container, str(mid), caller.id, toggled)
    response.headers["X-Position"] = str(toggled.position)
    return {"liked": toggled.liked, "total_likes": total, "position": toggled.position}


async def exact_total(
    container: Container, model_id: str, user_id: str, toggled: LikeToggle
) -> int:
    """The model's like count once the likes view has folded this toggle's position.

    Every toggle before it in the log is then counted too, however many customers like the
    model at once. Should the view lag past the read wait (its follower is down), the
    answer is still not a 503 (a retried toggle would undo itself): the view's count with
    the caller's own like as it is now in place of what the view has of it.
    """
    position = container.read_position(LIKES_VIEW)
    reached = await position.wait_until(toggled.position, container.settings.read_wait_seconds)

    def read() -> int:
        with container.views.reading() as cur:
            total = likes_total(cur, model_id)
            if reached:
                return total
            return total - int(likes_it(cur, model_id, user_id)) + int(toggled.liked)

    total = await run_in_threadpool(read)
    if not reached:
        log.warning("likes_view_behind", position=toggled.position, model_id=model_id)
    return total
