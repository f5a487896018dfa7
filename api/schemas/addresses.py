"""Saved delivery addresses (/api/user/addresses, and the profile's `addresses`)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.text import TextBody
from domain.addresses import (
    MAX_CITY,
    MAX_COUNTRY,
    MAX_LABEL,
    MAX_NAME,
    MAX_PHONE,
    MAX_STATE,
    MAX_STREET,
    MAX_ZIP,
)


class AddressBody(TextBody):
    """A delivery address in India; PUT replaces every field (left out: the default)."""

    multiline = frozenset({"address"})

    label: str | None = Field(default=None, max_length=MAX_LABEL, examples=["Home", "Work"])
    name: str = Field(max_length=MAX_NAME, description="Who receives the parcel.")
    phone: str | None = Field(
        default=None,
        max_length=MAX_PHONE,
        description="Indian mobile or landline (with STD code), optionally after +91 or 0.",
    )
    address: str = Field(max_length=MAX_STREET, description="Street lines; line breaks kept.")
    city: str = Field(max_length=MAX_CITY)
    state: str | None = Field(
        default=None,
        max_length=MAX_STATE,
        description="Name, abbreviation or GST code (e.g. Maharashtra, MH, 27); left out:"
        " the PIN's state. Answered as the upper-case name.",
    )
    zip: str = Field(max_length=MAX_ZIP, description="6-digit PIN code India Post knows.")
    country: str | None = Field(
        default=None, max_length=MAX_COUNTRY, description="India only: IN (the default)."
    )


class SavedAddress(BaseModel):
    """A saved address as its owner sees it."""

    id: str
    label: str
    name: str
    phone: str
    address: str
    city: str
    state: str = Field(description="Upper-case name, as India Post writes it.")
    zip: str
    country: str
    is_default: bool = Field(description="Checkout fills shipping from this address.")


class AddressList(BaseModel):
    """The caller's saved addresses, oldest first."""

    addresses: list[SavedAddress]


class ChangedAddress(BaseModel):
    """An address after a change, and the log position the change wrote."""

    address: SavedAddress
    position: int


class RemovedAddress(BaseModel):
    """A removed address's id, the addresses left (the default may have moved), and the
    position the removal wrote."""

    id: str
    deleted: bool
    addresses: list[SavedAddress]
    position: int
