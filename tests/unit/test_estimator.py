"""The learnable instant estimate: version 0 is the shell model, calibration fits the rest."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from decimal import Decimal

import pytest

from application.calibration import (
    MIN_SAMPLES,
    CalibrationRefused,
    CalibrationSample,
    calibrate,
    errors,
    fit,
    mape,
)
from domain.catalog import DEFAULT_COST_SETTINGS, DEFAULT_MATERIALS, DEFAULT_PRINTER
from domain.errors import InvalidInput
from domain.estimator import (
    FEATURES_VERSION,
    MATERIAL_FEATURES,
    TIME_FEATURES,
    Coefficients,
    EstimatorModel,
    features,
)
from domain.pricing import PartGeometry, estimate_print

PLA, PETG = DEFAULT_MATERIALS[0], DEFAULT_MATERIALS[1]
PRINTER, SETTINGS = DEFAULT_PRINTER, DEFAULT_COST_SETTINGS
OTHER_PRINTER = replace(DEFAULT_PRINTER, name="Big 350", bed_x_mm=350.0)

CUBE = PartGeometry(20.0, 20.0, 20.0, 8.0, 24.0)
PLATE = PartGeometry(80.0, 60.0, 1.2, 5.76, 99.36)  # 6 layers: all skin
SPHERE = PartGeometry(40.0, 40.0, 40.0, 33.4, None)  # area estimated from the box

# Coefficients of a made-up "true" slicer, to check that a fit finds them again.
TRUE_MATERIAL = [0.98, 0.93, 0.02, -3.0, 1.0]
TRUE_TIME = [0.03, 0.02, 0.05, -0.004, 1.6, 0.002, 60.0]


def test_version_0_is_todays_shell_model_to_the_last_digit() -> None:
    model = EstimatorModel.shell()
    for geometry in (CUBE, PLATE, SPHERE):
        for infill in (0, 20, 100):
            expected = estimate_print(geometry, PLA, PRINTER, SETTINGS, infill)
            assert model.estimate(geometry, PLA, PRINTER, SETTINGS, infill) == expected


def test_features_of_a_cube_follow_the_slice_rules() -> None:
    f = features(CUBE, PRINTER, SETTINGS, 20)
    width, layer = 0.45, 0.2
    wall = 2 * (width - layer * (1 - math.pi / 4)) + width  # 3 perimeters
    # A cube is a prism of its height: 800 mm2 top and bottom, 1600 mm2 of sides.
    shell = 1600 * wall + 800 * 0.8
    assert f["shell"] == pytest.approx(shell)
    assert f["interior"] == pytest.approx(8000 - shell)
    assert f["infill"] == pytest.approx((8000 - shell) * 0.2)
    assert f["layers"] == 100
    assert f["perimeter_path"] == pytest.approx(1600 * wall / (width * layer))
    assert f["bed_outline"] == pytest.approx(80 * width * layer)


def test_a_part_thinner_than_its_shell_is_solid_throughout() -> None:
    f = features(PLATE, PRINTER, SETTINGS, 20)
    assert f["shell"] == pytest.approx(5760)
    assert f["interior"] == f["infill"] == 0
    with pytest.raises(InvalidInput, match="infill"):
        features(PLATE, PRINTER, SETTINGS, 120)


def coefficients(scale: float = 1.0, samples: int = 40) -> Coefficients:
    return Coefficients.from_floats(
        [c * scale for c in TRUE_MATERIAL], [c * scale for c in TRUE_TIME], samples
    )


def truth(geometry: PartGeometry, infill: float) -> tuple[float, float]:
    f = features(geometry, PRINTER, SETTINGS, infill)
    cm3 = sum(c * f[n] for c, n in zip(TRUE_MATERIAL, MATERIAL_FEATURES, strict=True)) / 1000
    seconds = sum(c * f[n] for c, n in zip(TRUE_TIME, TIME_FEATURES, strict=True))
    return cm3, seconds


def test_a_fitted_model_estimates_with_its_coefficients_and_the_material_density() -> None:
    model = EstimatorModel(version=1, groups={(PRINTER.name, "PLA"): coefficients()})
    cm3, seconds = truth(CUBE, 20)
    estimate = model.estimate(CUBE, PLA, PRINTER, SETTINGS, 20)
    assert estimate.material_cm3 == pytest.approx(cm3)
    assert estimate.grams == pytest.approx(cm3 * 1.24)
    assert estimate.print_hours == pytest.approx(seconds / 3600)
    assert estimate.layers == 100


def test_coefficients_fall_back_from_group_to_printer_to_shell_model() -> None:
    model = EstimatorModel(
        version=3,
        groups={(PRINTER.name, "PLA"): coefficients(1.0)},
        printers={PRINTER.name: coefficients(1.1)},
    )
    assert model.predict(CUBE, "pla", PRINTER, SETTINGS, 20).source == "group"
    by_printer = model.predict(CUBE, "PETG", PRINTER, SETTINGS, 20)
    assert by_printer.source == "printer"
    assert by_printer.material_cm3 == pytest.approx(truth(CUBE, 20)[0] * 1.1)
    elsewhere = model.estimate(CUBE, PLA, OTHER_PRINTER, SETTINGS, 20)
    assert elsewhere == estimate_print(CUBE, PLA, OTHER_PRINTER, SETTINGS, 20)


def test_a_prediction_that_goes_negative_falls_back_to_the_shell_model() -> None:
    negative = Coefficients.from_floats([-1.0] * 5, [1.0] * 7, 20)
    model = EstimatorModel(version=1, groups={(PRINTER.name, "PLA"): negative})
    found = model.predict(CUBE, "PLA", PRINTER, SETTINGS, 20)
    assert found.source == "shell"
    assert found.material_cm3 == estimate_print(CUBE, PLA, PRINTER, SETTINGS, 20).material_cm3


def test_the_stored_form_is_json_with_exact_decimal_strings() -> None:
    model = EstimatorModel(
        version=2,
        groups={(PRINTER.name, "PLA"): coefficients()},
        printers={PRINTER.name: coefficients(0.5, samples=60)},
    )
    stored = json.loads(json.dumps(model.to_dict()))
    assert stored["version"] == 2 and stored["features_version"] == FEATURES_VERSION
    assert stored["groups"][0]["material"] == "PLA"
    assert stored["groups"][0]["print_seconds"][4] == "1.6"
    assert all(isinstance(c, str) for c in stored["printers"][0]["material_cm3"])
    assert EstimatorModel.from_dict(stored) == model
    assert EstimatorModel.from_dict(EstimatorModel.shell().to_dict()) == EstimatorModel.shell()


def test_coefficients_fitted_to_other_features_are_kept_but_not_used() -> None:
    stored = EstimatorModel(version=4, groups={(PRINTER.name, "PLA"): coefficients()}).to_dict()
    stored["features_version"] = FEATURES_VERSION + 1
    model = EstimatorModel.from_dict(stored)
    assert model.groups  # nothing lost: a refit replaces them
    assert model.estimate(CUBE, PLA, PRINTER, SETTINGS, 20) == estimate_print(
        CUBE, PLA, PRINTER, SETTINGS, 20
    )


@pytest.mark.parametrize(
    "stored",
    [
        {"groups": []},
        {"version": 1, "groups": [{"printer": "P", "material": "PLA", "material_cm3": ["x"]}]},
        {
            "version": 1,
            "groups": [
                {
                    "printer": "P",
                    "material": "M",
                    "material_cm3": [],
                    "print_seconds": [],
                    "samples": 1,
                }
            ],
        },
        {
            "version": 1,
            "printers": [
                {
                    "printer": "P",
                    "material_cm3": [1.0] * 5,
                    "print_seconds": ["1"] * 7,
                    "samples": 3,
                }
            ],
        },
        {"version": 0, "printers": [{"printer": "P", **coefficients().to_dict()}]},
        {"version": -1},
    ],
)
def test_a_malformed_stored_model_is_refused(stored: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        EstimatorModel.from_dict(stored)


# --- calibration ----------------------------------------------------------------------


def parts(count: int) -> list[PartGeometry]:
    """Boxes of many proportions (deterministic)."""
    found = []
    for i in range(count):
        x, y, z = 10.0 + 7 * (i % 5), 12.0 + 5 * (i % 7), 4.0 + 9 * (i % 4)
        found.append(PartGeometry(x, y, z, x * y * z / 1000, 2 * (x * y + y * z + z * x) / 100))
    return found


def samples(count: int, material: str = "PLA", infills: tuple[int, ...] = (20, 50)) -> list:
    found = []
    for i, geometry in enumerate(parts(count)):
        infill = infills[i % len(infills)]
        cm3, seconds = truth(geometry, infill)
        found.append(
            CalibrationSample(
                geometry, material, PRINTER, SETTINGS, infill, cm3, cm3 * 1.24, seconds
            )
        )
    return found


def test_a_fit_finds_the_coefficients_the_slicer_followed() -> None:
    model = fit(samples(30), None)
    assert model.version == 1
    assert mape(model, samples(40)).material_pct == pytest.approx(0, abs=1e-6)
    assert mape(model, samples(40)).time_pct == pytest.approx(0, abs=1e-6)
    assert mape(EstimatorModel.shell(), samples(40)).material_pct > 1  # the shell model is off
    assert (PRINTER.name, "PLA") in model.groups and PRINTER.name in model.printers


def test_mape_is_the_mean_absolute_percentage_and_errors_are_signed() -> None:
    model = fit(samples(30), None)
    high = [replace(s, filament_cm3=s.filament_cm3 / 1.25) for s in samples(4)]  # estimate +25 %
    low = [replace(s, print_seconds=s.print_seconds / 0.8) for s in samples(4)]  # estimate -20 %
    assert [round(m) for m, _ in errors(model, high)] == [25] * 4
    assert mape(model, high + low).material_pct == pytest.approx(12.5)
    assert mape(model, high + low).time_pct == pytest.approx(10)
    with pytest.raises(InvalidInput, match="no slicer results"):
        mape(model, [])


def test_too_few_samples_are_refused_and_nothing_changes() -> None:
    previous = fit(samples(30), None)
    with pytest.raises(CalibrationRefused, match=f"at least {MIN_SAMPLES}"):
        fit(samples(MIN_SAMPLES - 1), previous)
    with pytest.raises(CalibrationRefused, match="no slicer results"):
        fit([], previous)


def test_a_small_group_keeps_its_previous_coefficients_while_others_are_refitted() -> None:
    previous = EstimatorModel(version=5, groups={(PRINTER.name, "PETG"): coefficients(2.0)})
    outcome = calibrate(samples(30, "PLA") + samples(3, "PETG"), previous)
    model = outcome.model
    assert model.version == 6
    assert model.groups[(PRINTER.name, "PETG")] == coefficients(2.0)
    assert "previous coefficients kept" in outcome.refused[f"{PRINTER.name} / PETG"]
    assert f"{PRINTER.name} / PLA" in outcome.fitted
    assert model.estimate(CUBE, PETG, PRINTER, SETTINGS, 20).material_cm3 == pytest.approx(
        2 * truth(CUBE, 20)[0]
    )


def test_results_at_a_single_infill_cannot_separate_infill_from_interior() -> None:
    with pytest.raises(CalibrationRefused, match="one infill"):
        fit(samples(30, infills=(20,)), None)


def test_a_sample_without_slicer_figures_is_refused() -> None:
    good = samples(1)[0]
    with pytest.raises(InvalidInput, match="filament_g"):
        replace(good, filament_g=Decimal(0))
    with pytest.raises(InvalidInput, match="print_seconds"):
        replace(good, print_seconds=float("nan"))
