"""Stories about catalog models in the domain: prices, moderation, slugs, fixed-price orders."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest

from domain.catalog import DEFAULT_COST_SETTINGS, DEFAULT_MATERIALS, DEFAULT_PRINTER, find_material
from domain.catalog_models import (
    APPROVED,
    HIDDEN,
    PENDING,
    CatalogModel,
    ModelDetails,
    SeoMeta,
    parse_price,
    status_of,
)
from domain.catalog_slugs import SlugClaim, slug_claim_id
from domain.errors import Conflict, InvalidInput
from domain.pricing import PartGeometry, PriceBreakdown, quote

PLA = find_material("PLA", DEFAULT_MATERIALS)
CUBE_20 = PartGeometry(dim_x_mm=20, dim_y_mm=20, dim_z_mm=20, volume_cm3=8.0)
CATEGORY = str(uuid4())
FILE = {"sha256": "a" * 64, "filename": "cube.stl", "size_bytes": 684}


def details(**overrides: object) -> ModelDetails:
    fields: dict[str, object] = {"name": "Cube", "category_id": CATEGORY, "material": "pla"}
    fields.update(overrides)
    return ModelDetails.parse(fields)


def model(role: str, *, auto_approve: bool = False) -> CatalogModel:
    return CatalogModel.upload(
        uuid4(),
        details(),
        owner_id="u-1",
        owner_role=role,
        file=FILE,
        mesh={"file_format": "stl"},
        auto_approve_customers=auto_approve,
        actor=f"{role}:u-1",
    )


@pytest.mark.parametrize(
    ("given", "paise"),
    [
        ("199.50", 19950),
        (199.5, 19950),
        (0, 0),
        ("0.01", 1),
        (1_000_000, 100_000_000),
        (None, None),
    ],
)
def test_a_price_in_rupees_becomes_exact_paise(given: object, paise: int | None) -> None:
    assert parse_price(given) == paise


@pytest.mark.parametrize("given", ["0.001", -1, "abc", float("nan"), True, 1_000_000.01, "1e9"])
def test_a_price_that_is_not_whole_paise_or_out_of_range_is_refused(given: object) -> None:
    with pytest.raises(InvalidInput, match="price"):
        parse_price(given)


def test_details_name_the_field_they_refuse() -> None:
    with pytest.raises(InvalidInput, match=r"^name"):
        details(name="  ")
    with pytest.raises(InvalidInput, match=r"^category_id"):
        details(category_id="toys")
    with pytest.raises(InvalidInput, match=r"^description"):
        details(description="x" * 2001)
    assert details().material == "PLA"  # codes are upper-case, as the catalog spells them


def test_staff_uploads_are_approved_and_customers_wait_unless_the_shop_says_otherwise() -> None:
    assert model("admin").status == APPROVED
    assert model("moderator").status == APPROVED
    assert model("user").status == PENDING
    assert not model("user").listed
    assert model("user", auto_approve=True).listed


def test_moderation_records_only_changes_and_hidden_is_approved_but_not_public() -> None:
    shared = model("user")
    shared.moderate(is_approved=True, is_public=None, actor="admin:a")
    shared.moderate(is_approved=True, is_public=True, actor="admin:a")  # nothing new
    assert [type(e).__name__ for e in shared.collect_events()] == [
        "ModelUploaded",
        "ModelApprovalChanged",
    ]
    shared.moderate(is_approved=None, is_public=False, actor="admin:a")
    assert shared.status == HIDDEN == status_of(True, False)
    shared.delete(actor="admin:a")
    with pytest.raises(Conflict):
        shared.moderate(is_approved=False, is_public=None, actor="admin:a")


def test_a_slug_is_lower_case_words_joined_by_hyphens() -> None:
    assert SeoMeta.parse({"slug": "Phone-Stand-V2"}).slug == "phone-stand-v2"
    assert SeoMeta.parse({"slug": ""}).slug is None
    for bad in ("phone stand", "-stand", "stand--v2", "stand/v2", "ünï"):
        with pytest.raises(InvalidInput, match=r"^slug"):
            SeoMeta.parse({"slug": bad})


def test_a_slug_claim_belongs_to_one_model_until_released() -> None:
    first, second = uuid4(), uuid4()
    claim = SlugClaim.first("stand", first, actor="admin:a")
    assert claim.id == slug_claim_id("stand")
    claim.claim(first, actor="admin:a")  # its own: nothing
    with pytest.raises(Conflict, match="already used"):
        claim.claim(second, actor="admin:a")
    claim.release(actor="admin:a")
    claim.claim(second, actor="admin:a")
    assert claim.model_id == str(second)


def fixed(unit: str, **options: object) -> PriceBreakdown:
    values: dict[str, object] = {
        "quantity": 3,
        "infill_pct": 20,
        "priority": False,
        "color": None,
        "shipping_cost": Decimal("0"),
    }
    values.update(options)
    return quote(
        CUBE_20,
        PLA,
        DEFAULT_PRINTER,
        DEFAULT_COST_SETTINGS,
        unit_price=Decimal(unit),
        **values,  # type: ignore[arg-type]
    )


def test_a_fixed_catalog_price_is_the_subtotal_times_quantity_whatever_the_infill() -> None:
    price = fixed("199.50")
    assert price.subtotal == Decimal("598.50")
    assert fixed("199.50", infill_pct=80).subtotal == price.subtotal
    assert price.pre_tax_total == price.subtotal
    assert price.gst == Decimal("107.73")  # 18 % of 598.50, half up
    assert price.total == Decimal("706.23")
    assert price.unit_price == Decimal("199.50")
    lines = price.material_cost + price.electricity_cost + price.setup_fee + price.overhead
    assert lines + price.margin == price.subtotal  # the margin is what the price leaves
    assert price.material_cost_display + price.printing_cost_display == price.subtotal
    assert price.catalog_unit_price == Decimal("199.50")


def test_priority_and_shipping_apply_to_a_fixed_price_as_to_any() -> None:
    price = fixed("100", quantity=1, priority=True, shipping_cost=Decimal("45.00"))
    assert price.priority_surcharge == Decimal("25.00")
    assert price.total == Decimal("125.00") + Decimal("22.50") + Decimal("45.00")


def test_a_fixed_price_below_cost_shows_a_negative_margin_but_no_negative_line() -> None:
    price = fixed("0.50")
    assert price.margin < 0
    assert price.printing_cost_display == 0
    assert price.material_cost_display == price.subtotal


def test_a_fixed_price_survives_its_stored_form_and_engine_prices_keep_theirs() -> None:
    price = fixed("199.50")
    stored = price.to_dict()
    assert stored["catalog_unit_price_paise"] == 19950
    assert PriceBreakdown.from_dict(stored) == price
    engine = quote(
        CUBE_20,
        PLA,
        DEFAULT_PRINTER,
        DEFAULT_COST_SETTINGS,
        quantity=1,
        infill_pct=20,
        priority=False,
        color=None,
        shipping_cost=Decimal("0"),
    )
    assert "catalog_unit_price_paise" not in engine.to_dict()
    assert PriceBreakdown.from_dict(engine.to_dict()).catalog_unit_price is None
