"""Calibration: refit the instant estimate's coefficients from accumulated slicer results.

Least squares on relative error (each row weighted by 1 / the slicer's figure), because
quotes are judged in percent: a 5 g part off by 1 g is worse than a 500 g part off by 5 g.
One fit per (printer, material) and one per printer over all its materials (the fallback);
a group with too few samples keeps the previous model's coefficients, and says why.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple, TypeVar

import numpy as np

from domain.catalog import CostSettings, PrinterProfile
from domain.errors import InvalidInput
from domain.estimator import (
    MATERIAL_FEATURES,
    TIME_FEATURES,
    Coefficients,
    EstimatorModel,
    features,
)
from domain.pricing import PartGeometry

K = TypeVar("K")

# Rows per fit: the time model has 7 coefficients; twice as many rows keeps one odd part
# from steering them.
MIN_SAMPLES = 14
# With one infill setting, "interior" and "interior x infill" cannot be told apart.
MIN_INFILLS = 2


class CalibrationRefused(InvalidInput):
    """No group had enough slicer results to fit: the estimator stays as it was."""


@dataclass(frozen=True)
class CalibrationSample:
    """One slicer result with what the estimate sees of the job.

    The printer profile and cost settings are the ones the slice's profile was made from
    (domain.slicing.SliceProfile.for_job): the features depend on their nozzle, layer
    height, wall and skin thickness. Material and time targets are the slicer's figures.
    """

    geometry: PartGeometry
    material: str
    printer: PrinterProfile
    settings: CostSettings
    infill_pct: float
    filament_cm3: float | Decimal
    filament_g: float | Decimal
    print_seconds: float | int

    def __post_init__(self) -> None:
        for name in ("filament_cm3", "filament_g", "print_seconds"):
            value = float(getattr(self, name))
            if not math.isfinite(value) or value <= 0:
                raise InvalidInput(f"a calibration sample needs a positive {name}")
        if not self.material.strip():
            raise InvalidInput("a calibration sample names its material")

    @property
    def group(self) -> tuple[str, str]:
        """(printer profile name, material code): whose coefficients it fits."""
        return self.printer.name, self.material.strip().upper()


@dataclass(frozen=True)
class Calibration:
    """A calibration's outcome: the new model and, per group not refitted, the reason."""

    model: EstimatorModel
    fitted: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


class Accuracy(NamedTuple):
    """Mean absolute percentage errors of a model against slicer results."""

    material_pct: float
    time_pct: float
    samples: int


def calibrate(samples: Sequence[CalibrationSample], previous: EstimatorModel | None) -> Calibration:
    """Fit every group with enough samples; the others keep the previous coefficients."""
    previous = previous or EstimatorModel.shell()
    by_group: dict[tuple[str, str], list[CalibrationSample]] = defaultdict(list)
    by_printer: dict[str, list[CalibrationSample]] = defaultdict(list)
    for sample in samples:
        by_group[sample.group].append(sample)
        by_printer[sample.printer.name].append(sample)
    fitted: list[str] = []
    refused: dict[str, str] = {}
    groups = _refit(by_group, previous.groups, lambda k: f"{k[0]} / {k[1]}", fitted, refused)
    printers = _refit(
        by_printer, previous.printers, lambda p: f"{p} / any material", fitted, refused
    )
    if not fitted:
        return Calibration(previous, [], refused)
    model = EstimatorModel(version=previous.version + 1, groups=groups, printers=printers)
    return Calibration(model, fitted, refused)


def _refit(
    rows_by: Mapping[K, list[CalibrationSample]],
    before: Mapping[K, Coefficients],
    label: Callable[[K], str],
    fitted: list[str],
    refused: dict[str, str],
) -> dict[K, Coefficients]:
    """Coefficients per key: refitted where there are enough rows, else kept (with why)."""
    after = dict(before)
    for key, rows in sorted(rows_by.items()):
        reason = _too_few(rows)
        if reason:
            refused[label(key)] = reason + _kept(key in before)
            continue
        after[key] = _fit(rows)
        fitted.append(label(key))
    return after


def fit(samples: Sequence[CalibrationSample], previous: EstimatorModel | None) -> EstimatorModel:
    """The next estimator version, or CalibrationRefused when no group could be fitted."""
    outcome = calibrate(samples, previous)
    if not outcome.fitted:
        reasons = "; ".join(f"{group}: {why}" for group, why in outcome.refused.items())
        raise CalibrationRefused(f"nothing to calibrate: {reasons or 'no slicer results yet'}")
    return outcome.model


def _too_few(rows: Sequence[CalibrationSample]) -> str | None:
    if len(rows) < MIN_SAMPLES:
        return f"{len(rows)} slicer results, at least {MIN_SAMPLES} needed"
    infills = {float(row.infill_pct) for row in rows}
    if len(infills) < MIN_INFILLS:
        return f"all results at one infill ({infills.pop():g} %); slice at {MIN_INFILLS} or more"
    return None


def _kept(had_coefficients: bool) -> str:
    return "; previous coefficients kept" if had_coefficients else "; the shell model answers"


def _fit(rows: Sequence[CalibrationSample]) -> Coefficients:
    values = [features(r.geometry, r.printer, r.settings, r.infill_pct) for r in rows]
    material = _weighted_least_squares(
        [[v[name] for name in MATERIAL_FEATURES] for v in values],
        [float(r.filament_cm3) * 1000 for r in rows],  # features are in mm3
    )
    time = _weighted_least_squares(
        [[v[name] for name in TIME_FEATURES] for v in values],
        [float(r.print_seconds) for r in rows],
    )
    return Coefficients.from_floats(material, time, len(rows))


def _weighted_least_squares(rows: list[list[float]], targets: list[float]) -> list[float]:
    """Coefficients minimising the sum of squared relative errors."""
    design = np.asarray(rows, dtype=np.float64)
    target = np.asarray(targets, dtype=np.float64)
    weight = 1.0 / target
    solution, *_ = np.linalg.lstsq(design * weight[:, None], target * weight, rcond=None)
    return [float(c) for c in solution]


def errors(
    model: EstimatorModel, samples: Iterable[CalibrationSample]
) -> list[tuple[float, float]]:
    """(material, time) relative error in percent per sample, signed (+: estimate high)."""
    found = []
    for s in samples:
        p = model.predict(s.geometry, s.material, s.printer, s.settings, s.infill_pct)
        # cm3 rather than grams: the same percentage when estimate and slicer use one density.
        cm3, seconds = float(s.filament_cm3), float(s.print_seconds)
        found.append(
            ((p.material_cm3 - cm3) / cm3 * 100, (p.print_seconds - seconds) / seconds * 100)
        )
    return found


def mape(model: EstimatorModel, samples: Iterable[CalibrationSample]) -> Accuracy:
    """Mean absolute percentage error of material and print time over the samples."""
    found = errors(model, samples)
    if not found:
        raise InvalidInput("no slicer results to measure the estimate against")
    material = sum(abs(m) for m, _ in found) / len(found)
    time = sum(abs(t) for _, t in found) / len(found)
    return Accuracy(material, time, len(found))
