"""Public PIN code look-up and search, for shipping estimates."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import ContainerDep
from api.schemas.errors import ANY, errors
from api.schemas.shipping import PinLookup
from application.ports import PinPlace
from application.shipping import MAX_SEARCH_RESULTS
from domain.errors import InvalidInput
from domain.shipping import postal_region

router = APIRouter(prefix="/api", tags=["shipping"])


def _place(place: PinPlace, distance_km: float | None) -> dict[str, Any]:
    zone, region = postal_region(place.pincode)
    return {
        "pincode": place.pincode,
        "state": place.state,
        "districts": list(place.districts),
        "zone": zone,
        "region": region,
        "latitude": place.latitude,
        "longitude": place.longitude,
        "offices": list(place.offices),
        # Display only (money never sees this number): 0.1 km is the dataset's own precision.
        "distance_km": None if distance_km is None else round(distance_km, 1),
    }


# Public (seed: no auth, no PAT scope).
@router.get("/pincodes", response_model=PinLookup, responses=errors(*ANY, 404))
def pincodes(
    container: ContainerDep,
    pin: Annotated[str | None, Query(max_length=12, description="A PIN to look up.")] = None,
    q: Annotated[
        str | None, Query(max_length=60, description="District or post office name (3+ chars).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_SEARCH_RESULTS)] = 20,
    origin: Annotated[
        str | None, Query(max_length=12, description="A PIN to measure distance_km from.")
    ] = None,
) -> dict[str, Any]:
    """Look up one PIN (`pin`, 404 if unknown) or search by district/office name (`q`)."""
    shipping = container.shipping
    if (pin is None) == (q is None):
        raise InvalidInput("send either pin (a PIN code) or q (a district or office name)")
    start = shipping.place(origin, "origin") if origin is not None else None
    places = [shipping.place(pin)] if pin is not None else shipping.search(q or "", limit)
    results = [
        _place(p, shipping.pins.distance_km(start.pincode, p.pincode) if start else None)
        for p in places
    ]
    pins = shipping.pins
    return {"results": results, "source": pins.attribution, "data_version": pins.data_version}
