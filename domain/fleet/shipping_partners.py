"""The ShippingPartner aggregate (fleet context): one stream per carrier the shop ships with."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, InvalidInput
from domain.shipping import SPEED_POST_RATES, RateTable

TRACKING_PLACEHOLDER = "{tracking_number}"
MAX_NAME = 80
MAX_TEMPLATE = 500
_SLUG = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")

# The storefront sends shipping_method "india_post" (the seed quote form): that is Speed Post.
DEFAULT_SLUG = "india_post"


def slug_for(name: str) -> str:
    """The partner's handle in quotes: lower-case words joined by underscores."""
    return "_".join(re.findall(r"[a-z0-9]+", name.casefold()))[:MAX_NAME]


def partner_id_for(slug: str) -> UUID:
    """The stream id of a slug: one stream per slug keeps slugs unique under races."""
    return uuid5(NAMESPACE_URL, f"fabledger:shipping-partner:{slug}")


def validate_tracking_template(template: object) -> str:
    """An http(s) URL with exactly one {tracking_number} placeholder, or a refusal."""
    if not isinstance(template, str) or not 0 < len(template.strip()) <= MAX_TEMPLATE:
        raise InvalidInput(f"tracking_url_template must be 1 to {MAX_TEMPLATE} characters")
    text = template.strip()
    if text.count(TRACKING_PLACEHOLDER) != 1:
        raise InvalidInput(f"tracking_url_template must contain {TRACKING_PLACEHOLDER} once")
    sample = text.replace(TRACKING_PLACEHOLDER, "EE123456789IN")
    try:
        url = urlsplit(sample)
        host = url.hostname
    except ValueError as error:
        raise InvalidInput("tracking_url_template is not a valid URL") from error
    # Any other brace is a placeholder we would never fill; spaces never belong in a URL.
    if url.scheme not in ("http", "https") or not host or re.search(r"[{}\s]", sample):
        raise InvalidInput("tracking_url_template must be an http(s) URL with a host")
    return text


def partner_spec(
    *,
    name: object,
    tracking_url_template: object,
    rate_table: object,
    active: object = True,
    slug: object = None,
) -> dict[str, Any]:
    """Validate a partner's fields into the primitive form stored in events."""
    if not isinstance(name, str) or not 0 < len(name.strip()) <= MAX_NAME:
        raise InvalidInput(f"name must be 1 to {MAX_NAME} characters")
    handle = slug_for(name) if slug is None else slug
    if not isinstance(handle, str) or not _SLUG.fullmatch(handle) or len(handle) > MAX_NAME:
        raise InvalidInput("slug must be lower-case letters and digits joined by underscores")
    if not isinstance(rate_table, dict):
        raise InvalidInput("rate_table must be an object")
    try:
        table = RateTable.from_dict(rate_table)
    except (KeyError, TypeError) as error:
        raise InvalidInput(f"rate_table is missing or mistypes a field: {error}") from error
    if not isinstance(active, bool):
        raise InvalidInput("active must be true or false")
    return {
        "name": name.strip(),
        "slug": handle,
        "tracking_url_template": validate_tracking_template(tracking_url_template),
        "rate_table": table.to_dict(),
        "active": active,
    }


class ShippingPartner(Aggregate):
    """A carrier: its name, tracking link, tariff and whether quotes may use it."""

    class Registered(Aggregate.Created):
        """Staff added a shipping partner."""

        spec: dict[str, Any]
        actor: str

    @event(Registered)
    def __init__(self, *, id: UUID, spec: dict[str, Any], actor: str) -> None:
        self.spec = spec
        self.removed = False

    @classmethod
    def register(cls, spec: dict[str, Any], *, actor: str) -> ShippingPartner:
        """Add a partner under the stream id of its slug."""
        return cls(id=partner_id_for(spec["slug"]), spec=spec, actor=actor)

    @property
    def rates(self) -> RateTable:
        """The tariff as a value object."""
        return RateTable.from_dict(self.spec["rate_table"])

    @property
    def active(self) -> bool:
        """Whether quotes may pick this partner."""
        return bool(self.spec["active"]) and not self.removed

    def tracking_url(self, tracking_number: str) -> str:
        """The carrier's tracking page for a parcel."""
        return str(self.spec["tracking_url_template"]).replace(
            TRACKING_PLACEHOLDER, tracking_number
        )

    def update(self, spec: dict[str, Any], *, actor: str) -> None:
        """Replace the partner's fields (the slug, its stream's key, stays)."""
        if self.removed:
            raise Conflict("this shipping partner was deleted")
        self._updated(spec={**spec, "slug": self.spec["slug"]}, previous=self.spec, actor=actor)

    @event("Updated")
    def _updated(self, spec: dict[str, Any], previous: dict[str, Any], actor: str) -> None:
        self.spec = spec

    def remove(self, *, actor: str) -> None:
        """Delete the partner: quotes can no longer pick it; its history stays."""
        if self.removed:
            raise Conflict("this shipping partner was already deleted")
        self._removed(actor=actor)

    @event("Removed")
    def _removed(self, actor: str) -> None:
        self.removed = True

    def restore(self, spec: dict[str, Any], *, actor: str) -> None:
        """Add a deleted partner's slug again, with new fields, on the same stream."""
        if not self.removed:
            raise Conflict(f"a shipping partner with slug '{self.spec['slug']}' already exists")
        self._restored(spec=spec, actor=actor)

    @event("Restored")
    def _restored(self, spec: dict[str, Any], actor: str) -> None:
        self.spec = spec
        self.removed = False


SPEED_POST_SPEC = partner_spec(
    name="India Post Speed Post",
    slug=DEFAULT_SLUG,
    tracking_url_template=(
        "https://www.indiapost.gov.in/_layouts/15/dop.portal.tracking/trackconsignment.aspx"
        "?consignment={tracking_number}"
    ),
    rate_table=SPEED_POST_RATES.to_dict(),
)
