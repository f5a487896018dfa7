"""Stories about what can be printed at all: sizes no solid has, features finer than the nozzle."""

from __future__ import annotations

from dataclasses import replace

import pytest

from domain.catalog import DEFAULT_PRINTER
from domain.errors import InvalidInput
from domain.pricing import PartGeometry
from domain.printability import min_feature_mm, require_fit, require_printable

PRINTER = DEFAULT_PRINTER  # 0.4 mm nozzle: nothing thinner than 0.8 mm


def refusal(geometry: PartGeometry) -> str:
    """The reason require_printable gives for refusing the geometry."""
    with pytest.raises(InvalidInput) as refused:
        require_printable(geometry, PRINTER)
    return refused.value.message


def test_the_smallest_feature_is_two_extrusions_of_the_nozzle() -> None:
    assert min_feature_mm(PRINTER) == pytest.approx(0.8)
    assert min_feature_mm(replace(PRINTER, nozzle_mm=0.6)) == pytest.approx(1.2)


@pytest.mark.parametrize(
    "geometry",
    [
        PartGeometry(20, 20, 20, 8.0),  # the 20 mm cube
        PartGeometry(20, 20, 20, 8.0, 24.0),  # ...with its measured area
        PartGeometry(0.8, 0.8, 0.8, 0.000512),  # a cube of the smallest feature
        PartGeometry(100, 100, 0.8, 8.0),  # a card one feature thick
        PartGeometry(40, 40, 40, 33.51, 50.27),  # a 40 mm ball
        PartGeometry(20, 20, 20, 8.3),  # a volume a rounding slip above its box
    ],
)
def test_parts_a_printer_can_make_pass(geometry: PartGeometry) -> None:
    require_printable(geometry, PRINTER)


def test_a_hundredth_of_a_millimetre_cube_is_too_small_to_print() -> None:
    message = refusal(PartGeometry(0.01, 0.01, 0.01, 1e-9))
    assert "0.01 mm thick" in message and "0.4 mm nozzle" in message and "0.8 mm" in message


def test_a_sheet_thinner_than_two_extrusions_is_refused_however_wide() -> None:
    assert "0.5 mm thick" in refusal(PartGeometry(200, 200, 0.5, 20.0))


def test_a_volume_below_one_feature_is_refused_even_in_a_large_box() -> None:
    message = refusal(PartGeometry(20, 20, 20, 0.0001))
    assert "0.1 mm3" in message and "0.512 mm3" in message


def test_a_volume_larger_than_its_bounding_box_is_refused() -> None:
    message = refusal(PartGeometry(20, 20, 20, 1e12))
    assert "larger than the part's bounding box" in message and "8 cm3" in message


def test_an_area_smaller_than_a_sphere_of_that_volume_is_refused() -> None:
    # A 20 mm cube claiming 1 cm2 of surface would be priced as nearly all infill.
    message = refusal(PartGeometry(20, 20, 20, 8.0, 1.0))
    assert "smaller than any solid" in message


def test_walls_thinner_than_one_extrusion_on_average_are_refused() -> None:
    # A 40 mm hollow ball with 0.1 mm walls: 5 cm3 of plastic spread over 100 cm2 of skin.
    message = refusal(PartGeometry(40, 40, 40, 0.5, 100.0))
    assert "walls average 0.3 mm" in message and "0.4 mm nozzle" in message


def test_a_finer_nozzle_makes_finer_parts() -> None:
    fine = replace(PRINTER, nozzle_mm=0.2)
    part = PartGeometry(10, 10, 0.5, 0.05)
    require_printable(part, fine)
    with pytest.raises(InvalidInput):
        require_printable(part, PRINTER)


def test_a_part_larger_than_the_bed_in_every_orientation_is_refused() -> None:
    require_fit(PartGeometry(220, 250, 210, 100.0), PRINTER)  # fits turned on its side
    with pytest.raises(InvalidInput, match=r"does not fit the build volume \(250 x 210 x 220"):
        require_fit(PartGeometry(300, 20, 20, 10.0), PRINTER)
