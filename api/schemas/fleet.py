"""Print config: materials, printers (the fleet) and categories, for staff and the public."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from api.text import TextBody, check_text

Name = Annotated[str, Field(min_length=1, max_length=40)]
Code = Annotated[str, Field(min_length=1, max_length=20)]
UserId = Annotated[str, Field(min_length=1, max_length=36)]


class _ListsBody(TextBody):
    """A body whose lists of names refuse control characters too."""

    @model_validator(mode="after")
    def _no_control_characters_in_lists(self) -> _ListsBody:
        for name, value in self:
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, str):
                        check_text(name, item)
        return self


# Materials. Ranges repeat domain.material_records so the OpenAPI document states them.


class MaterialBody(_ListsBody):
    """A new material (`name` is its code, e.g. PLA)."""

    multiline = frozenset({"notes"})

    name: Code
    display_name: str = Field(min_length=1, max_length=100)
    density_g_cm3: float = Field(ge=0.5, le=5.0, allow_inf_nan=False)
    cost_per_kg: Decimal = Field(ge=0, le=1_000_000, decimal_places=2, description="rupees/kg")
    colors: list[Name] = Field(min_length=1, max_length=50)
    notes: str = Field(default="", max_length=2000)
    active: bool = True


class MaterialChanges(_ListsBody):
    """Fields to change; left out (or null) keeps the current value. `name` cannot change."""

    multiline = frozenset({"notes"})

    name: Code | None = None
    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    density_g_cm3: float | None = Field(default=None, ge=0.5, le=5.0, allow_inf_nan=False)
    cost_per_kg: Decimal | None = Field(default=None, ge=0, le=1_000_000, decimal_places=2)
    colors: list[Name] | None = Field(default=None, min_length=1, max_length=50)
    notes: str | None = Field(default=None, max_length=2000)
    active: bool | None = None


class StaffMaterial(BaseModel):
    """A material with everything staff edit; cost as an exact decimal string and in paise."""

    id: str
    name: str
    display_name: str
    density_g_cm3: float
    cost_per_kg: str
    cost_per_kg_paise: int
    colors: list[str]
    notes: str
    active: bool


class StaffMaterialList(BaseModel):
    """Every material, active or not."""

    materials: list[StaffMaterial]


class ChangedMaterial(BaseModel):
    """A material after a change, and the log position the change wrote."""

    material: StaffMaterial
    position: int


# Printers.


class PrinterBody(_ListsBody):
    """A printer of the fleet (the seed's fields, plus owners and the colours loaded)."""

    multiline = frozenset({"printer_address", "notes"})

    name: str = Field(min_length=1, max_length=100)
    brand: str = Field(default="", max_length=100)
    materials: list[Code] = Field(min_length=1, max_length=20)
    bed_x_mm: float = Field(ge=1, le=5000, allow_inf_nan=False)
    bed_y_mm: float = Field(ge=1, le=5000, allow_inf_nan=False)
    bed_z_mm: float = Field(ge=1, le=5000, allow_inf_nan=False)
    nozzle_mm: float = Field(ge=0.1, le=2.0, allow_inf_nan=False)
    layer_height_mm: float = Field(default=0.2, ge=0.04, le=1.6, allow_inf_nan=False)
    wattage_w: float = Field(ge=1, le=20_000, allow_inf_nan=False)
    print_speed_cm3_hr: float = Field(ge=0.1, le=10_000, allow_inf_nan=False)
    printer_pincode: str = Field(min_length=6, max_length=7, description="6-digit PIN code")
    printer_address: str = Field(default="", max_length=500)
    notes: str = Field(default="", max_length=2000)
    active: bool = True
    owners: list[UserId] = Field(default_factory=list, max_length=50)
    loaded_colors: list[Name] = Field(default_factory=list, max_length=50)


class PrinterChanges(_ListsBody):
    """Fields to change; left out (or null) keeps the current value."""

    multiline = frozenset({"printer_address", "notes"})

    name: str | None = Field(default=None, min_length=1, max_length=100)
    brand: str | None = Field(default=None, max_length=100)
    materials: list[Code] | None = Field(default=None, min_length=1, max_length=20)
    bed_x_mm: float | None = Field(default=None, ge=1, le=5000, allow_inf_nan=False)
    bed_y_mm: float | None = Field(default=None, ge=1, le=5000, allow_inf_nan=False)
    bed_z_mm: float | None = Field(default=None, ge=1, le=5000, allow_inf_nan=False)
    nozzle_mm: float | None = Field(default=None, ge=0.1, le=2.0, allow_inf_nan=False)
    layer_height_mm: float | None = Field(default=None, ge=0.04, le=1.6, allow_inf_nan=False)
    wattage_w: float | None = Field(default=None, ge=1, le=20_000, allow_inf_nan=False)
    print_speed_cm3_hr: float | None = Field(default=None, ge=0.1, le=10_000, allow_inf_nan=False)
    printer_pincode: str | None = Field(default=None, min_length=6, max_length=7)
    printer_address: str | None = Field(default=None, max_length=500)
    notes: str | None = Field(default=None, max_length=2000)
    active: bool | None = None
    owners: list[UserId] | None = Field(default=None, max_length=50)
    loaded_colors: list[Name] | None = Field(default=None, max_length=50)


class PublicPrinter(BaseModel):
    """An active printer's specs for compatibility display (no address, PIN or owners)."""

    id: str
    name: str
    brand: str
    materials: list[str]
    bed_x_mm: float
    bed_y_mm: float
    bed_z_mm: float
    nozzle_mm: float
    layer_height_mm: float
    print_speed_cm3_hr: float


class StaffPrinter(PublicPrinter):
    """Everything staff know of a printer."""

    wattage_w: float
    printer_pincode: str
    printer_address: str
    notes: str
    active: bool
    owners: list[str]
    loaded_colors: list[str]
    version: int


class PublicPrinterList(BaseModel):
    """The active printers."""

    printers: list[PublicPrinter]


class StaffPrinterList(BaseModel):
    """Every printer, active or not."""

    printers: list[StaffPrinter]


class ChangedPrinter(BaseModel):
    """A printer after a change, and the log position the change wrote."""

    printer: StaffPrinter
    position: int


# Categories.


class CategoryBody(TextBody):
    """A category of catalog models."""

    multiline = frozenset({"description"})

    name: str = Field(min_length=1, max_length=60)
    icon: str = Field(default="", max_length=40)
    description: str = Field(default="", max_length=500)
    display_order: int = Field(default=0, ge=0, le=10_000)


class CategoryChanges(TextBody):
    """Fields to change; left out (or null) keeps the current value."""

    multiline = frozenset({"description"})

    name: str | None = Field(default=None, min_length=1, max_length=60)
    icon: str | None = Field(default=None, max_length=40)
    description: str | None = Field(default=None, max_length=500)
    display_order: int | None = Field(default=None, ge=0, le=10_000)


class CategoryInfo(BaseModel):
    """A category."""

    id: str
    name: str
    icon: str
    description: str
    display_order: int


class CategoryList(BaseModel):
    """Categories in display order."""

    categories: list[CategoryInfo]


class ChangedCategory(BaseModel):
    """A category after a change, and the log position the change wrote."""

    category: CategoryInfo
    position: int


class Deleted(BaseModel):
    """A record was deleted (its history stays in the log)."""

    id: str
    deleted: bool
    position: int
