"""The signed-in user's saved delivery addresses (/api/user/addresses), JWT only.

Every change answers the log position it wrote (body and X-Position); reads replay the
user's one small address-book stream, so they see every write at once.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from api.deps import CallerDep, ContainerDep
from api.schemas.addresses import AddressBody, AddressList, ChangedAddress, RemovedAddress
from api.schemas.errors import SIGNED_IN, WITH_BODY, errors

router = APIRouter(prefix="/api/user", tags=["user"], responses=errors(*SIGNED_IN))


def _changed(response: Response, address: dict[str, Any], position: int) -> dict[str, Any]:
    response.headers["X-Position"] = str(position)
    return {"address": address, "position": position}


@router.get("/addresses", response_model=AddressList)
def list_addresses(caller: CallerDep, container: ContainerDep) -> dict[str, Any]:
    """The caller's saved delivery addresses, oldest first."""
    return {"addresses": container.addresses.list(caller.user.id)}


@router.post(
    "/addresses",
    status_code=201,
    response_model=ChangedAddress,
    responses=errors(*WITH_BODY, 409),
)
def add_address(
    body: AddressBody, caller: CallerDep, container: ContainerDep, response: Response
) -> dict[str, Any]:
    """Save a new address (at most 20); the first becomes the default. 422 for a PIN India
    Post does not know, or one in another state than `state` names."""
    address, position = container.addresses.add(
        caller.user.id, body.model_dump(exclude_none=True), actor=caller.actor
    )
    return _changed(response, address, position)


@router.put(
    "/addresses/{address_id}",
    response_model=ChangedAddress,
    responses=errors(*WITH_BODY, 404, 409),
)
def replace_address(
    address_id: str,
    body: AddressBody,
    caller: CallerDep,
    container: ContainerDep,
    response: Response,
) -> dict[str, Any]:
    """Replace every field of a saved address (it stays the default if it was)."""
    address, position = container.addresses.replace(
        caller.user.id, address_id, body.model_dump(exclude_none=True), actor=caller.actor
    )
    return _changed(response, address, position)


@router.delete("/addresses/{address_id}", response_model=RemovedAddress, responses=errors(404, 409))
def remove_address(
    address_id: str, caller: CallerDep, container: ContainerDep, response: Response
) -> dict[str, Any]:
    """Remove a saved address; removing the default makes the oldest remaining one default."""
    remaining, position = container.addresses.remove(caller.user.id, address_id, actor=caller.actor)
    response.headers["X-Position"] = str(position)
    return {"id": address_id, "deleted": True, "addresses": remaining, "position": position}


@router.patch(
    "/addresses/{address_id}/default",
    response_model=ChangedAddress,
    responses=errors(404, 409),
)
def choose_default(
    address_id: str, caller: CallerDep, container: ContainerDep, response: Response
) -> dict[str, Any]:
    """Make a saved address the default that checkout fills shipping from."""
    address, position = container.addresses.make_default(
        caller.user.id, address_id, actor=caller.actor
    )
    return _changed(response, address, position)
