"""Site content: the store profile and site settings by section, and the storefront's share.

Answers are typed field by field (what each setting holds); bodies take each key's value
as JSON and leave the checks to the key's spec, whose 422 names the key and the field.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.shop import SettingChangeRow
from api.text import TextBody


class CompanyInfo(BaseModel):
    """company_info: the shop's name, tagline and logo URL."""

    name: str
    tagline: str
    logo_url: str


class ContactDetails(BaseModel):
    """contact_details: how customers reach the shop ("" when not given)."""

    email: str
    phone: str
    whatsapp: str


class Address(BaseModel):
    """address: where customers reach the shop; the state as its upper-case name."""

    line1: str
    line2: str
    city: str
    state: str
    pin: str


class Legal(BaseModel):
    """legal: registrations invoices do not print (the GSTIN is the invoice seller's)."""

    cin: str
    pan: str


class InvoiceSeller(BaseModel):
    """invoice_seller: the seller on tax invoices (legal name, registered address, GSTIN)."""

    legal_name: str
    address: str
    state_code: str
    gstin: str | None


class SocialLinks(BaseModel):
    """social_links: http(s) URLs ("" when not given)."""

    instagram: str
    facebook: str
    x: str
    youtube: str
    linkedin: str


class Hero(BaseModel):
    """about_hero: the about page's headline and call to action."""

    title: str
    subtitle: str
    cta_text: str
    cta_link: str


class Stat(BaseModel):
    """One figure of the stats strip."""

    label: str
    value: str


class Story(BaseModel):
    """about_story: the shop's story and mission (paragraphs separated by newlines)."""

    story: str
    mission: str


class Card(BaseModel):
    """A "who we serve" card."""

    enabled: bool
    title: str
    text: str


class Cards(BaseModel):
    """about_cards: the seed's three cards."""

    students_makers: Card
    personalised_gifting: Card
    repair_replace: Card


class Store(BaseModel):
    """store: the currency prices are in."""

    currency: Literal["INR"]


class UploadFormats(BaseModel):
    """upload_formats: which model formats may be uploaded."""

    model_config = ConfigDict(populate_by_name=True)

    stl: bool
    obj: bool
    three_mf: bool = Field(alias="3mf")


class Viewer(BaseModel):
    """viewer: the 3D preview's colour before a customer picks one."""

    default_color: str = Field(description="#RRGGBB")


class CompanyInfoAnswer(BaseModel):
    """Company, contact, address, legal, invoice seller, UPI and social settings by key."""

    company_info: CompanyInfo
    contact_details: ContactDetails
    address: Address
    legal: Legal
    invoice_seller: InvoiceSeller
    upi_vpa: str | None = Field(description="The shop's UPI ID; null: UPI is not offered.")
    upi_payee_name: str
    social_links: SocialLinks


class SiteInfoAnswer(CompanyInfoAnswer):
    """The company info with the store, uploads, community catalog and viewer settings."""

    store: Store
    upload_formats: UploadFormats
    catalog_auto_approve_customer_models: bool
    viewer: Viewer


class AboutInfoAnswer(BaseModel):
    """The about page's settings by key."""

    about_hero: Hero
    about_stats: list[Stat]
    about_story: Story
    about_cards: Cards


Section = dict[str, Any] | None
_VALUE = "The whole new value (fields left out take their defaults); left out: unchanged."


class CompanyInfoBody(TextBody):
    """Any company-info keys with their new values; one bad value changes none."""

    model_config = ConfigDict(extra="forbid")  # another section's key is a 422, not a no-op

    company_info: Section = Field(default=None, description=_VALUE)
    contact_details: Section = Field(default=None, description=_VALUE)
    address: Section = Field(default=None, description=_VALUE)
    legal: Section = Field(default=None, description=_VALUE)
    invoice_seller: Section = Field(default=None, description=_VALUE)
    upi_vpa: str | None = Field(default=None, description="null: stop offering UPI.")
    upi_payee_name: str | None = None
    social_links: Section = Field(default=None, description=_VALUE)


class AboutInfoBody(TextBody):
    """Any about-info keys with their new values; one bad value changes none."""

    model_config = ConfigDict(extra="forbid")

    about_hero: Section = Field(default=None, description=_VALUE)
    about_stats: list[dict[str, Any]] | None = Field(default=None, description=_VALUE)
    about_story: Section = Field(default=None, description=_VALUE)
    about_cards: Section = Field(default=None, description=_VALUE)


class SavedCompanyInfo(BaseModel):
    """The company info after a bulk write, its changes and the position written."""

    settings: CompanyInfoAnswer
    changes: list[SettingChangeRow]
    position: int


class SavedAboutInfo(BaseModel):
    """The about info after a bulk write, its changes and the position written."""

    settings: AboutInfoAnswer
    changes: list[SettingChangeRow]
    position: int


class PublicUpi(BaseModel):
    """How customers pay by UPI: the shop's UPI ID and the payee name their app shows."""

    enabled: bool
    vpa: str | None
    payee_name: str


class PublicSiteInfo(BaseModel):
    """What brands the storefront."""

    shop_name: str
    tagline: str
    logo_url: str | None
    currency: Literal["INR"]
    social_links: dict[str, str] = Field(description="Only the links that are set, by network.")
    upi: PublicUpi
    contact: ContactDetails
    address: Address
    upload_formats: list[Literal["stl", "obj", "3mf"]] = Field(
        description="The formats customers may upload now."
    )
    viewer_default_color: str


class PublicCard(BaseModel):
    """A "who we serve" card that is switched on."""

    id: str
    title: str
    text: str


class PublicAboutInfo(BaseModel):
    """The about page: hero, stats strip, story, mission and the cards switched on."""

    hero: Hero
    stats: list[Stat]
    story: str
    mission: str
    cards: list[PublicCard]
