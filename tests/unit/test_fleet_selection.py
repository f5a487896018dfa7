"""Stories about choosing the printer: the prepared fleet answers exactly as the rule does.

`FleetChoice` is what quotes use (it visits printers cheapest first and stops early);
`choose_printer` is the rule as written. On random fleets and parts they must agree on
every success (the same printer object) and every refusal (the same words).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace

import pytest

from domain.catalog import (
    DEFAULT_COST_SETTINGS,
    DEFAULT_MATERIALS,
    DEFAULT_PRINTER,
    PrinterProfile,
)
from domain.errors import InvalidInput
from domain.fleet.selection import FleetChoice, choose_printer
from domain.pricing import PartGeometry

CODES = [m.code for m in DEFAULT_MATERIALS]


def random_fleet(rng: random.Random, size: int) -> list[PrinterProfile]:
    fleet = []
    for index in range(size):
        fleet.append(
            replace(
                DEFAULT_PRINTER,
                name=f"P{index:03d}",
                wattage_w=rng.choice([0, 90, 120, 150, 200, 350, rng.uniform(50, 500)]),
                print_speed_cm3_hr=rng.choice([8, 12, 15, 25, rng.uniform(5, 60)]),
                layer_height_mm=rng.choice([0.1, 0.2, 0.28]),
                nozzle_mm=rng.choice([0.2, 0.4, 0.6, 0.8]),
                bed_x_mm=rng.uniform(60, 420),
                bed_y_mm=rng.uniform(60, 420),
                bed_z_mm=rng.uniform(60, 420),
                materials=tuple(rng.sample(CODES, rng.randint(1, len(CODES)))),
            )
        )
    return fleet


def crowded_fleet(rng: random.Random, size: int) -> list[PrinterProfile]:
    """Printers within a few percent of each other: the best is decided by small margins."""
    return [
        replace(
            DEFAULT_PRINTER,
            name=f"C{index:03d}",
            wattage_w=150 * rng.uniform(0.97, 1.03),
            print_speed_cm3_hr=25 * rng.uniform(0.97, 1.03),
            layer_height_mm=rng.choice([0.2, 0.2, 0.28]),
            bed_x_mm=rng.uniform(150, 300),
            materials=tuple(CODES),
        )
        for index in range(size)
    ]


def random_part(rng: random.Random) -> PartGeometry:
    x, y, z = (rng.choice([rng.uniform(0.5, 5), rng.uniform(5, 450)]) for _ in "xyz")
    return PartGeometry(x, y, z, x * y * z * rng.uniform(0.05, 1.0) / 1000)


def outcome(choose: Callable[..., PrinterProfile], *args: object) -> tuple[str, object]:
    try:
        return "chosen", choose(*args)
    except InvalidInput as error:
        return "refused", str(error)


@pytest.mark.parametrize("seed", range(40))
def test_the_prepared_fleet_chooses_exactly_what_the_rule_chooses(seed: int) -> None:
    rng = random.Random(seed)
    size = rng.choice([1, 2, 5, 30, 120])
    fleet = (crowded_fleet if seed % 2 else random_fleet)(rng, size)
    prepared = FleetChoice(fleet)
    chosen = 0
    for _ in range(60):
        part, material = random_part(rng), rng.choice(DEFAULT_MATERIALS)
        infill = rng.choice([0, 20, 100])
        settings = DEFAULT_COST_SETTINGS

        fast = outcome(prepared.choose, part, material, settings, infill)
        rule = outcome(choose_printer, part, material, fleet, settings, infill)

        assert fast[0] == rule[0]
        assert fast[1] is rule[1] if fast[0] == "chosen" else fast[1] == rule[1]
        chosen += fast[0] == "chosen"
    assert chosen > 0  # the seeds make parts some printer can make


def test_equal_energy_goes_to_the_faster_printer_then_the_name() -> None:
    part = PartGeometry(20, 20, 20, 8.0)
    pla = DEFAULT_MATERIALS[0]
    idle = [replace(DEFAULT_PRINTER, name=n, wattage_w=0) for n in ("B", "A")]
    faster = replace(DEFAULT_PRINTER, name="C", wattage_w=0, print_speed_cm3_hr=99)
    for fleet in (idle, [*idle, faster]):
        expected = choose_printer(part, pla, fleet, DEFAULT_COST_SETTINGS, 20)
        assert FleetChoice(fleet).choose(part, pla, DEFAULT_COST_SETTINGS, 20) is expected
    assert FleetChoice(idle).choose(part, pla, DEFAULT_COST_SETTINGS, 20).name == "A"
