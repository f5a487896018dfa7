"""The slicer profile we generate, the summary we parse, and how results and failures are kept."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from domain.catalog import DEFAULT_COST_SETTINGS, DEFAULT_MATERIALS, DEFAULT_PRINTER, Material
from domain.errors import InvalidInput
from domain.slicing import (
    GcodeSummaryError,
    SliceFailure,
    SliceProfile,
    SliceResult,
    SlicingFailed,
    parse_duration,
    parse_gcode_summary,
)

PLA = DEFAULT_MATERIALS[0]
SHA = "ab" * 32

# The end of a real PrusaSlicer 2.5 G-code (a 20 mm cube at 20 %), config dump shortened.
TAIL = """\
G1 X105.2 Y95.1 E.01234
; total layers count = 100
M104 S0
M84
; filament used [mm] = 1521.18
; filament used [cm3] = 3.66
; filament used [g] = 4.54
; total filament used [g] = 4.54
; total filament cost = 0.00
; estimated printing time (normal mode) = 22m 5s

; prusaslicer_config = begin
; layer_height = 0.2
; prusaslicer_config = end
"""


def profile(infill: float = 20, **changes: Any) -> SliceProfile:
    return replace(
        SliceProfile.for_job(DEFAULT_PRINTER, PLA, DEFAULT_COST_SETTINGS, infill), **changes
    )


def ini(p: SliceProfile) -> dict[str, str]:
    pairs = [line.split(" = ", 1) for line in p.ini_text().splitlines()]
    assert all(len(pair) == 2 for pair in pairs), "every line is 'key = value'"
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys)), "no key twice"
    return dict(pairs)


def test_the_default_job_gets_three_perimeters_four_solid_layers_and_its_filament() -> None:
    config = ini(profile(20))
    assert config["perimeters"] == "3"  # 1.2 mm wall / 0.45 mm lines
    assert config["top_solid_layers"] == config["bottom_solid_layers"] == "4"  # 0.8 / 0.2
    assert config["fill_density"] == "20%"
    assert config["fill_pattern"] == "gyroid"
    assert config["nozzle_diameter"] == "0.4"
    assert config["layer_height"] == "0.2"
    assert config["bed_shape"] == "0x0,250x0,250x210,0x210"
    # Without these two PrusaSlicer reports 0 g.
    assert config["filament_diameter"] == "1.75"
    assert config["filament_density"] == "1.24"
    assert config["post_process"] == ""


def test_walls_and_skins_follow_the_cost_settings_with_at_least_two_perimeters() -> None:
    thick = replace(DEFAULT_COST_SETTINGS, wall_thickness_mm=2.0, top_bottom_thickness_mm=0.5)
    p = SliceProfile.for_job(DEFAULT_PRINTER, PLA, thick, 15)
    assert (p.perimeters, p.top_solid_layers) == (4, 3)  # 2.0 / 0.45 rounds to 4; 0.5 / 0.2 up
    thin = replace(DEFAULT_COST_SETTINGS, wall_thickness_mm=0.3)
    assert SliceProfile.for_job(DEFAULT_PRINTER, PLA, thin, 15).perimeters == 2


def test_solid_infill_uses_a_pattern_the_slicer_accepts_at_100_percent() -> None:
    assert profile(100).infill_pattern == "rectilinear"
    with pytest.raises(InvalidInput, match="100 %"):
        profile(100, infill_pattern="gyroid")


def test_flexible_filament_is_slowed_down_and_heat_follows_the_material() -> None:
    tpu = Material("TPU", "TPU", 1.21, Decimal(2000), ("Black",))
    p = SliceProfile.for_job(DEFAULT_PRINTER, tpu, DEFAULT_COST_SETTINGS, 20)
    assert max(speed for _, speed in p.speeds_mm_s) == 25
    assert p.temperature_c == 230
    odd = Material("WOOD", "Wood fill", 1.15, Decimal(2500), ("Brown",))
    assert (
        SliceProfile.for_job(DEFAULT_PRINTER, odd, DEFAULT_COST_SETTINGS, 20).temperature_c == 215
    )


def test_no_text_a_person_typed_reaches_the_config() -> None:
    hostile = "PLA\npost_process = /bin/sh -c 'curl evil'"
    material = Material(hostile, hostile, 1.24, Decimal(1200), (hostile,), notes=hostile)
    printer = replace(DEFAULT_PRINTER, name=hostile, materials=(hostile,))
    text = SliceProfile.for_job(printer, material, DEFAULT_COST_SETTINGS, 20).ini_text()
    assert "curl" not in text
    # Names only choose among our constants: the config is that of any other unknown material.
    plain = Material("OTHER", "Other", 1.24, Decimal(1200), ("Black",))
    assert (
        text == SliceProfile.for_job(DEFAULT_PRINTER, plain, DEFAULT_COST_SETTINGS, 20).ini_text()
    )


def test_the_fingerprint_names_the_config_exactly() -> None:
    assert profile(20).fingerprint() == profile(20).fingerprint()
    assert profile(20).fingerprint() != profile(50).fingerprint()
    assert re.fullmatch(r"[0-9a-f]{16}", profile(20).fingerprint())
    summary = profile(20).summary()
    assert summary["fingerprint"] == profile(20).fingerprint()
    assert json.loads(json.dumps(summary)) == summary


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"layer_height_mm": Decimal("0.6")}, "layer height exceeds"),
        ({"fill_density_pct": 150}, "fill_density_pct"),
        ({"fill_density_pct": float("nan")}, "fill_density_pct"),
        ({"infill_pattern": "gyroid; rm"}, "infill pattern"),
        ({"perimeters": 1}, "perimeters"),
        ({"filament_density_g_cm3": 0}, "filament_density"),
        ({"speeds_mm_s": (("travel_speed", 150),)}, "speeds"),
    ],
)
def test_a_profile_with_numbers_no_printer_has_is_refused(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        profile(20, **changes)


def test_the_summary_comments_give_filament_time_and_layers() -> None:
    figures = parse_gcode_summary(TAIL)
    assert figures == {
        "filament_mm": Decimal("1521.18"),
        "filament_cm3": Decimal("3.66"),
        "filament_g": Decimal("4.54"),
        "print_seconds": 22 * 60 + 5,
        "layers": 100,
    }


def test_layers_are_counted_from_layer_changes_without_a_total_and_extruders_summed() -> None:
    text = TAIL.replace("; total layers count = 100\n", "")
    text = ";LAYER_CHANGE\n;Z:0.2\n;LAYER_CHANGE\n;Z:0.4\n" + text
    text = text.replace("[g] = 4.54", "[g] = 4.54, 1.00")
    figures = parse_gcode_summary(text)
    assert figures["layers"] == 2
    assert figures["filament_g"] == Decimal("5.54")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("13s", 13), ("22m 5s", 1325), ("3h 44m 29s", 13469), ("1d 2h 3m 4s", 93784), ("2h", 7200)],
)
def test_print_times_are_read_in_every_form_the_slicer_writes(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        (TAIL.replace("; filament used [g] = 4.54\n", ""), r"filament used \[g\]"),
        (TAIL.replace("[g] = 4.54", "[g] = 0.00"), "filament density"),
        (TAIL.replace("[mm] = 1521.18", "[mm] = lots"), "no number"),
        (TAIL.replace("; estimated printing time (normal mode) = 22m 5s", ""), "printing time"),
        (TAIL.replace("= 22m 5s", "= soon"), "not like"),
        (TAIL.replace("; total layers count = 100", "; total layers count = 0"), "no layers"),
        ("", r"filament used \[mm\]"),
    ],
)
def test_a_missing_or_zero_figure_is_refused_with_its_name(broken: str, message: str) -> None:
    with pytest.raises(GcodeSummaryError, match=message):
        parse_gcode_summary(broken)


def result(**changes: object) -> SliceResult:
    values: dict[str, object] = {
        "filament_g": Decimal("4.54"),
        "filament_mm": Decimal("1521.18"),
        "filament_cm3": Decimal("3.66"),
        "print_seconds": 1325,
        "layers": 100,
        "slicer_version": "PrusaSlicer-2.5.0",
        "profile_fingerprint": "0123456789abcdef",
        "gcode_sha256": SHA,
        "gcode_bytes": 412155,
    }
    return SliceResult(**{**values, **changes})  # type: ignore[arg-type]


def test_a_result_is_stored_with_decimal_strings_and_comes_back_equal() -> None:
    stored = json.loads(json.dumps(result().to_dict()))
    assert stored["filament_g"] == "4.54" and stored["print_seconds"] == 1325
    assert SliceResult.from_dict(stored) == result()
    assert result().print_hours == Decimal("0.368056")


@pytest.mark.parametrize(
    "changes",
    [
        {"filament_g": Decimal(0)},
        {"print_seconds": 0},
        {"layers": -1},
        {"gcode_sha256": "../../etc/passwd"},
        {"slicer_version": ""},
    ],
)
def test_a_result_without_figures_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        result(**changes)


def test_stored_grams_must_be_decimal_strings_not_floats() -> None:
    stored = result().to_dict()
    with pytest.raises(InvalidInput, match="decimal string"):
        SliceResult.from_dict({**stored, "filament_g": 4.54})


def test_every_failure_reason_has_a_message_and_is_stored_as_its_value() -> None:
    assert {reason.value for reason in SliceFailure} == {
        "timeout",
        "out_of_memory",
        "crashed",
        "unprintable",
        "no_output",
    }
    assert all(reason.message for reason in SliceFailure)
    failure = SlicingFailed(SliceFailure.UNPRINTABLE, "model.stl: Loading\n of a model failed.")
    assert failure.to_dict() == {
        "reason": "unprintable",
        "message": "the slicer cannot print this model: model.stl: Loading of a model failed.",
    }
    assert len(SlicingFailed(SliceFailure.CRASHED, "x" * 5000).message) < 400
