"""A printer as staff register it over HTTP (POST /api/admin/printer-types), for tests."""

from __future__ import annotations

from typing import Any

PRINTER: dict[str, Any] = {
    "name": "Farm A",
    "brand": "Prusa",
    "materials": ["PLA", "PETG"],
    "bed_x_mm": 250,
    "bed_y_mm": 210,
    "bed_z_mm": 210,
    "nozzle_mm": 0.4,
    "wattage_w": 120,
    "print_speed_cm3_hr": 20,
    "printer_pincode": "110001",
    "loaded_colors": ["Black", "White"],
}
