"""Site content use cases: the store profile and site settings by section, written in bulk,
and what the storefront may show of them; and the one check every upload passes.

Sections are groups of shop settings (each key checked by its own spec): company info
(company, contact, address, legal, the invoice seller, UPI, social links), about info (hero,
stats, story, cards) and the site info (company info with the store, uploads, catalog and
viewer settings). A bulk write changes its keys in one save, each change its own event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from application.shop import SettingChange, ShopApp
from domain.catalog_models import AUTO_APPROVE_SETTING
from domain.errors import InvalidInput
from domain.shop.invoicing import SELLER_SETTING
from domain.shop.site_content import (
    ADDRESS,
    CARDS,
    COMPANY,
    CONTACT,
    FORMATS,
    HERO,
    LEGAL,
    SOCIAL,
    STATS,
    STORE,
    STORY,
    UPLOAD_FORMATS,
    VIEWER,
    require_enabled_format,
)
from domain.upi import PAYEE_NAME_SETTING, VPA_SETTING

COMPANY_KEYS = (
    COMPANY,
    CONTACT,
    ADDRESS,
    LEGAL,
    SELLER_SETTING,
    VPA_SETTING,
    PAYEE_NAME_SETTING,
    SOCIAL,
)
ABOUT_KEYS = (HERO, STATS, STORY, CARDS)
GENERAL_KEYS = (STORE, UPLOAD_FORMATS, AUTO_APPROVE_SETTING, VIEWER)
SITE_KEYS = (*GENERAL_KEYS, *COMPANY_KEYS)
# What the storefront is shown (with the UPI ID and payee name): all meant for customers.
PUBLIC_KEYS = (COMPANY, CONTACT, ADDRESS, SOCIAL, STORE, UPLOAD_FORMATS, VIEWER)


class ShopSettings(Protocol):
    """The shop's settings by key (application.shop.ShopApp)."""

    def value(self, key: str) -> Any:
        """The current value of one key."""
        ...


def check_upload_format(shop: ShopSettings | None, filename: str) -> None:
    """Refuse an upload of a format the shop switched off (422), before any analysis: every
    upload path (checkout, upload for the cart, staff catalog uploads) calls this.
    No settings (tests' bare services): every format is on."""
    if shop is not None:
        require_enabled_format(shop.value(UPLOAD_FORMATS), filename)


class SiteContent:
    """The store profile and site settings, read and written by section."""

    def __init__(self, shop: ShopApp) -> None:
        self.shop = shop

    def values(self, keys: tuple[str, ...]) -> dict[str, Any]:
        """These keys' current values (one read of the settings)."""
        current = self.shop.current()
        return {key: current.value(key) for key in keys}

    def site_info(self) -> dict[str, Any]:
        """General, company and social settings together (admins)."""
        return self.values(SITE_KEYS)

    def company_info(self) -> dict[str, Any]:
        """Company, contact, address, legal, invoice seller, UPI and social settings."""
        return self.values(COMPANY_KEYS)

    def about_info(self) -> dict[str, Any]:
        """The about page's hero, stats, story and cards."""
        return self.values(ABOUT_KEYS)

    def save_company_info(
        self, values: Mapping[str, Any], *, actor: str
    ) -> tuple[list[SettingChange], int]:
        """Change any company-info keys at once; one bad key or value changes none."""
        return self._save("company info", COMPANY_KEYS, values, actor)

    def save_about_info(
        self, values: Mapping[str, Any], *, actor: str
    ) -> tuple[list[SettingChange], int]:
        """Change any about-info keys at once; one bad key or value changes none."""
        return self._save("about info", ABOUT_KEYS, values, actor)

    def _save(
        self, section: str, keys: tuple[str, ...], values: Mapping[str, Any], actor: str
    ) -> tuple[list[SettingChange], int]:
        if not values:
            raise InvalidInput(f"give at least one {section} setting: {', '.join(keys)}")
        for key in values:
            if key not in keys:
                raise InvalidInput(
                    f"{key[:60]}: not a {section} setting; they are {', '.join(keys)}"
                )
        return self.shop.change_many(values, actor=actor)

    def public_site_info(self) -> dict[str, Any]:
        """What brands the storefront: never a setting that is not meant for customers."""
        values = self.values((*PUBLIC_KEYS, VPA_SETTING, PAYEE_NAME_SETTING))
        company, formats, vpa = values[COMPANY], values[UPLOAD_FORMATS], values[VPA_SETTING]
        return {
            "shop_name": company["name"],
            "tagline": company["tagline"],
            "logo_url": company["logo_url"] or None,
            "currency": values[STORE]["currency"],
            "social_links": {name: link for name, link in values[SOCIAL].items() if link},
            "upi": {
                "enabled": vpa is not None,
                "vpa": vpa,
                "payee_name": values[PAYEE_NAME_SETTING],
            },
            "contact": values[CONTACT],
            "address": values[ADDRESS],
            "upload_formats": [name for name in FORMATS if formats[name]],
            "viewer_default_color": values[VIEWER]["default_color"],
        }

    def public_about_info(self) -> dict[str, Any]:
        """The about page: hero, stats, story and mission, and the cards switched on."""
        values = self.about_info()
        return {
            "hero": values[HERO],
            "stats": values[STATS],
            "story": values[STORY]["story"],
            "mission": values[STORY]["mission"],
            "cards": [
                {"id": name, "title": card["title"], "text": card["text"]}
                for name, card in values[CARDS].items()
                if card["enabled"]
            ],
        }
