"""The instant estimate's fitted model as a shop setting (versioned by its own number)."""

from __future__ import annotations

from typing import Any

from domain.errors import InvalidInput
from domain.estimator import EstimatorModel
from domain.shop.settings import SettingSpec, register_setting

ESTIMATOR_SETTING = "quote_estimator"


def estimator_value(key: str, value: Any) -> dict[str, Any]:
    """A stored estimator model (EstimatorModel.to_dict), checked by loading it."""
    if not isinstance(value, dict):
        raise InvalidInput(f"{key}: must be an estimator model object")
    try:
        return EstimatorModel.from_dict(value).to_dict()
    except InvalidInput as error:
        raise InvalidInput(f"{key}: {error.message}") from error


register_setting(
    ESTIMATOR_SETTING,
    SettingSpec(
        EstimatorModel.shell().to_dict(),
        "The instant estimate's coefficients per printer and material, refitted from the"
        " slicer's results by `fabledger quotes calibrate`; version 0 is the shell model."
        " Every quote records the version that priced it.",
        estimator_value,
    ),
)
