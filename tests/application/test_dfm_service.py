"""The metered DFM service: every answered call is counted once, and a refusal at the hard
cap wins over the analysis, whether the count runs beside the analysis (as usual) or first
(an organisation this process saw capped)."""

from __future__ import annotations

import pytest
import trimesh

from application.developer import VerifiedKey
from domain.api_key_format import parse_key
from domain.errors import InvalidInput, QuotaExceeded
from domain.plans import ANALYZE
from infra.bootstrap import Container

SMALL = bytes(trimesh.creation.box(extents=(20.0, 20.0, 20.0)).export(file_type="stl"))
LARGE = bytes(trimesh.creation.icosphere(subdivisions=5, radius=15.0).export(file_type="stl"))
GARBAGE = b"solid nothing\n" + b"\x00\xff" * 40_000  # as large as a real model


@pytest.fixture
def key(container: Container) -> VerifiedKey:
    org = container.developer.create_org(name="Acme Robotics", owner_id="u-owner")
    issued = container.developer.issue_key(str(org.id), name="ci", actor="user:u-owner")
    return container.developer.verify(parse_key(issued.api_key))


def test_small_and_large_models_are_each_counted_once(
    container: Container, key: VerifiedKey
) -> None:
    """Each answer carries the reading its own count left."""
    small = container.dfm.quick_info(key, SMALL, "cube.stl", "r-small")
    large = container.dfm.quick_info(key, LARGE, "sphere.stl", "r-large")
    assert small.report["triangle_count"] == 12 and large.report["triangle_count"] == 20480
    assert (small.reading.used, large.reading.used) == (1, 2)
    assert large.reading.remaining == small.reading.remaining - 1


@pytest.mark.parametrize("size", ["small", "large"])
def test_at_the_hard_cap_the_refusal_wins_over_a_bad_file(
    container: Container, key: VerifiedKey, size: str
) -> None:
    """A file that cannot be read answers 402 once the cap is reached, not 422."""
    bad = GARBAGE[: len(SMALL)] if size == "small" else GARBAGE
    with pytest.raises(InvalidInput):  # below the cap the file's own fault is the answer
        container.dfm.analyze(key, bad, "bad.stl", "r-0")
    for n in range(99):
        container.developer.record_usage(
            org_id=key.org_id, product=ANALYZE, key_id=key.key_id, request_id=f"pre-{n}"
        )
    for attempt in range(2):  # beside the analysis, then first (the org is capped here)
        with pytest.raises(QuotaExceeded):
            container.dfm.analyze(key, bad, "bad.stl", f"r-over-{attempt}")
