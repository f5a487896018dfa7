"""Issues a person can act on, and the score: 100 less the documented penalty of each."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Penalties, in score points (the score starts at 100 and is clamped to 0-100):
#   open_body             30  holes: slicers guess how to close them, or refuse the file
#   too_large             40  fits none of the printers in any axis-aligned orientation
#   thin_wall             10 + 100 x thin fraction, at most 40, once >= 1 % of samples are thin
#   non_manifold_edge     15  edges shared by more than two faces
#   inconsistent_winding  10  neighbouring faces disagree about which side is outside
#   overhang              5 + 50 x overhang share of the surface, at most 20, once >= 1 %
#   inverted_normals       5  closed bodies inside out (analysed with their normals flipped)
#   info issues            0  multiple bodies, a fit that needs rotation, tiny thin spots
PENALTY_OPEN_BODY = 30.0
PENALTY_TOO_LARGE = 40.0
PENALTY_NON_MANIFOLD = 15.0
PENALTY_WINDING = 10.0
PENALTY_INVERTED = 5.0
# Below this share of samples, thin spots are the sharp edges and tips every part has.
THIN_SHARE_FLAGGED = 0.01
THIN_SHARE_ERROR = 0.10
# Overhang below this share of the surface is a detail a slicer bridges or supports easily.
OVERHANG_SHARE_FLAGGED = 0.01


def thin_wall_penalty(fraction: float) -> float:
    """Score points lost to thin walls."""
    return 0.0 if fraction < THIN_SHARE_FLAGGED else min(40.0, 10.0 + 100.0 * fraction)


def overhang_penalty(fraction: float) -> float:
    """Score points lost to overhangs."""
    return 0.0 if fraction < OVERHANG_SHARE_FLAGGED else min(20.0, 5.0 + 50.0 * fraction)


@dataclass(frozen=True)
class Issue:
    """One finding: what, how bad, what to do, and where."""

    kind: str
    severity: str  # error | warning | info
    message: str
    locations: list[list[float]] = field(default_factory=list)
    penalty: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the penalty shows in the score, not in the issue)."""
        return {
            "kind": self.kind,
            "severity": self.severity,
            "message": self.message,
            "locations": self.locations,
        }


_ORDER = {"error": 0, "warning": 1, "info": 2}


def score(issues: list[Issue]) -> int:
    """100 less every issue's penalty, clamped to 0-100."""
    return round(max(0.0, min(100.0, 100.0 - sum(i.penalty for i in issues))))


def ordered(issues: list[Issue]) -> list[Issue]:
    """Errors first, then warnings, then notes; stable within a severity."""
    return sorted(issues, key=lambda issue: _ORDER[issue.severity])
