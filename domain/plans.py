"""Developer-API plan tiers: included units per metered product, overage, key limits."""

from __future__ import annotations

from dataclasses import dataclass

QUICK_INFO = "quick_info"
ANALYZE = "analyze"
PRODUCTS = (QUICK_INFO, ANALYZE)


@dataclass(frozen=True)
class Plan:
    """What an organisation's tier includes each billing period."""

    tier: str
    included: dict[str, int]
    hard_cap: bool  # refuse past the included units (402) instead of billing overage
    max_keys: int

    def included_units(self, product: str) -> int:
        """Units of a product included per period."""
        return self.included[product]


# From the developer-API seed: free and starter share quotas; free stops at the cap,
# starter bills per unit; enterprise overage is contracted, so it is metered, not capped.
PLANS: dict[str, Plan] = {
    "free": Plan("free", {QUICK_INFO: 1_000, ANALYZE: 100}, hard_cap=True, max_keys=2),
    "starter": Plan("starter", {QUICK_INFO: 1_000, ANALYZE: 100}, hard_cap=False, max_keys=5),
    "pro": Plan("pro", {QUICK_INFO: 50_000, ANALYZE: 5_000}, hard_cap=False, max_keys=25),
    "enterprise": Plan(
        "enterprise", {QUICK_INFO: 1_000_000, ANALYZE: 100_000}, hard_cap=False, max_keys=100
    ),
}
