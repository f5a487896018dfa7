"""What the print config asks the read side: open orders of a material (the orders view).

Printers and categories need no view of their own (application.fleet reads them from their
aggregates); this adapter answers the material-deletion rule from the orders view that
projections.orders keeps. The view trails the log by its follow interval, so an order
placed in the same instant may not be counted yet; deletion is a rare staff action.
"""

from __future__ import annotations

from domain.orders import CANCELLED, DELIVERED
from projections.base import ViewDatabase

_OPEN_WITH_MATERIAL = "SELECT COUNT(*) FROM orders_view WHERE material = ? AND status NOT IN (?, ?)"


class OpenOrdersView:
    """application.print_config.OpenOrders over the orders view."""

    def __init__(self, views: ViewDatabase) -> None:
        self.views = views

    def using_material(self, code: str) -> int:
        """How many orders not yet delivered or cancelled are made of this material."""
        with self.views.reading() as cur:
            cur.execute(_OPEN_WITH_MATERIAL, (code.upper(), DELIVERED, CANCELLED))
            row = cur.fetchone()
        return int(row[0]) if row else 0
