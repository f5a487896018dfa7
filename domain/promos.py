"""The Promo aggregate: a scheduled storefront message, a banner or the homepage popup.

One aggregate serves both: the seed's popup announcement (text, link, window) is a promo
whose placement is "popup". Several may be scheduled; at any moment the storefront shows
every live banner and one popup (the one that started last, see `showing`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, InvalidInput

BANNER = "banner"
POPUP = "popup"
PLACEMENTS = (BANNER, POPUP)
MAX_TITLE = 120
MAX_TEXT = 1000
MAX_LINK = 500
_COUPON_CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{2,31}")
FIELDS = ("title", "text", "link", "placement", "starts_at", "ends_at", "coupon_code", "active")


def _text(data: Mapping[str, Any], field: str, limit: int, *, required: bool) -> str:
    value = data.get(field) or ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text")
    value = value.strip()
    if len(value) > limit or (required and not value):
        raise InvalidInput(f"{field}: {1 if required else 0}-{limit} characters")
    return value


def _link(value: str) -> str:
    """A link the storefront may follow: an http(s) URL with a host, or a path on the shop."""
    if not value:
        return value
    if value.startswith("/") and not value.startswith("//"):
        return value
    try:
        url = urlsplit(value)
    except ValueError as error:
        raise InvalidInput("link must be an http(s) URL or a path starting with /") from error
    if url.scheme not in ("http", "https") or not url.hostname or re.search(r"\s", value):
        raise InvalidInput("link must be an http(s) URL or a path starting with /")
    return value


def _moment(value: object, field: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as error:
            raise InvalidInput(f"{field} must be an ISO-8601 time") from error
    if not isinstance(value, datetime):
        raise InvalidInput(f"{field} must be an ISO-8601 time")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{field} must include a timezone, e.g. 2026-11-21T10:00+05:30")
    return value


@dataclass(frozen=True)
class PromoSpec:
    """What a promo says, where it shows and when (times are aware; None: open-ended)."""

    text: str
    title: str = ""
    link: str = ""
    placement: str = BANNER
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    coupon_code: str | None = None
    active: bool = True

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> PromoSpec:
        """A validated spec from primitives (times as datetimes or ISO text)."""
        unknown = sorted(set(data) - set(FIELDS))
        if unknown:
            raise InvalidInput(f"unknown promo field '{unknown[0]}'")
        placement = data.get("placement") or BANNER
        if placement not in PLACEMENTS:
            raise InvalidInput(f"placement must be one of {', '.join(PLACEMENTS)}")
        starts = _moment(data.get("starts_at"), "starts_at")
        ends = _moment(data.get("ends_at"), "ends_at")
        if starts is not None and ends is not None and not starts < ends:
            raise InvalidInput("ends_at must be later than starts_at")
        code = data.get("coupon_code")
        if code is not None:
            code = str(code).strip().upper()
            if not _COUPON_CODE.fullmatch(code):
                raise InvalidInput(f"coupon_code: unknown coupon '{code}'")
        active = data.get("active", True)
        if not isinstance(active, bool):
            raise InvalidInput("active must be true or false")
        return cls(
            text=_text(data, "text", MAX_TEXT, required=True),
            title=_text(data, "title", MAX_TITLE, required=False),
            link=_link(_text(data, "link", MAX_LINK, required=False)),
            placement=placement,
            starts_at=starts,
            ends_at=ends,
            coupon_code=code,
            active=active,
        )

    def to_dict(self) -> dict[str, Any]:
        """The stored form: primitives, times as ISO-8601 text."""
        data = asdict(self)
        for key in ("starts_at", "ends_at"):
            moment = getattr(self, key)
            data[key] = None if moment is None else moment.isoformat()
        return data

    def shows_at(self, now: datetime) -> bool:
        """Whether the storefront shows it at `now` (start inclusive, end exclusive)."""
        started = self.starts_at is None or self.starts_at <= now
        return self.active and started and (self.ends_at is None or now < self.ends_at)


class Promo(Aggregate):
    """A scheduled promo; deleting keeps its stream (history)."""

    class Scheduled(Aggregate.Created):
        """A promo was created; `spec` is PromoSpec in its stored form."""

        spec: dict[str, Any]
        actor: str

    class Changed(Aggregate.Event):
        """Staff changed the promo; `previous` holds the spec it replaced."""

        spec: dict[str, Any]
        previous: dict[str, Any]
        actor: str

    class Deleted(Aggregate.Event):
        """The promo was deleted."""

        actor: str

    @event(Scheduled)
    def __init__(self, *, id: UUID, spec: dict[str, Any], actor: str) -> None:
        self.spec = spec
        self.deleted = False

    @classmethod
    def schedule(cls, promo_id: UUID, spec: PromoSpec, *, actor: str) -> Promo:
        """A new promo under an id the caller chose."""
        return cls(id=promo_id, spec=spec.to_dict(), actor=actor)

    @property
    def current(self) -> PromoSpec:
        """The spec now."""
        return PromoSpec.parse(self.spec)

    def change(self, changes: Mapping[str, Any], *, actor: str) -> bool:
        """A new spec from some fields; False when nothing differs."""
        self._refuse_if_deleted()
        spec = PromoSpec.parse({**self.spec, **changes}).to_dict()
        if spec == self.spec:
            return False
        self._changed(spec=spec, previous=self.spec, actor=actor)
        return True

    def delete(self, *, actor: str) -> None:
        """Remove the promo from the storefront for good."""
        self._refuse_if_deleted()
        self._deleted(actor=actor)

    @event(Changed)
    def _changed(self, spec: dict[str, Any], previous: dict[str, Any], actor: str) -> None:
        self.spec = spec

    @event(Deleted)
    def _deleted(self, actor: str) -> None:
        self.deleted = True

    def _refuse_if_deleted(self) -> None:
        if self.deleted:
            raise Conflict("this promo was deleted")


def showing(promos: Sequence[Promo], now: datetime) -> tuple[Promo | None, list[Promo]]:
    """What the storefront shows at `now`: the popup, and the banners by start.

    Overlapping popups: the one that started last wins (a later schedule overrides an
    earlier one without editing it); an open start counts as the earliest; ties go to
    the promo created last.
    """
    live = [p for p in promos if not p.deleted and p.current.shows_at(now)]

    def start(promo: Promo) -> tuple[datetime, datetime]:
        begins = promo.current.starts_at
        return (begins or datetime.min.replace(tzinfo=now.tzinfo), promo.created_on)

    popups = sorted((p for p in live if p.current.placement == POPUP), key=start)
    banners = sorted((p for p in live if p.current.placement == BANNER), key=start)
    return (popups[-1] if popups else None), banners
