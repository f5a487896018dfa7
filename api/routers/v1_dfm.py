"""Metered DFM API: quick_info and analyze, with quota headers on every answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, File, Request, Response, UploadFile
from starlette.concurrency import run_in_threadpool

from api.deps import ContainerDep
from api.errors import quota_headers
from api.key_auth import KeyDep
from api.schemas.developer import DfmReport, QuickInfo
from api.schemas.errors import MULTIPART, SIGNED_IN, errors
from api.uploads import read_upload
from application.developer import VerifiedKey
from application.dfm import MeteredResult

router = APIRouter(
    prefix="/api/v1/dfm", tags=["developer API"], responses=errors(*SIGNED_IN, *MULTIPART, 402, 409)
)
ModelFile = Annotated[UploadFile, File()]


async def _metered(
    call: Callable[[VerifiedKey, bytes, str, str], MeteredResult],
    key: VerifiedKey,
    model_file: UploadFile,
    request: Request,
    response: Response,
    max_bytes: int,
) -> dict[str, Any]:
    """Read the upload (size checks first: a refused file costs nothing), meter, analyse."""
    data, filename = await read_upload(model_file, max_bytes)
    result = await run_in_threadpool(call, key, data, filename, request.state.request_id)
    reading = result.reading
    response.headers.update(quota_headers(reading.tier, reading.included, reading.remaining))
    return result.report


@router.post("/quick_info", response_model=QuickInfo)
async def quick_info(
    model_file: ModelFile,
    key: KeyDep,
    container: ContainerDep,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    """Dimensions, volume, area, bodies and watertight/manifold flags of a model."""
    max_bytes = container.settings.max_file_bytes
    return await _metered(container.dfm.quick_info, key, model_file, request, response, max_bytes)


@router.post("/analyze", response_model=DfmReport)
async def analyze(
    model_file: ModelFile,
    key: KeyDep,
    container: ContainerDep,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    """A printability report: thin walls, overhangs, fit per printer, open edges, score."""
    max_bytes = container.settings.max_file_bytes
    return await _metered(container.dfm.analyze, key, model_file, request, response, max_bytes)
