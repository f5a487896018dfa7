"""Streams of order events written straight through the ordering application, fast.

Every save places a block of new orders and moves each older, unfinished order one step
along its lifecycle, so the events of many orders interleave in the log (as they do in
production) and every save writes many aggregates in one transaction.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from uuid import uuid4

from application.ordering import OrderingApp, new_tracking_number
from domain.orders import Order

Step = Callable[[Order], None]
STAFF = ("staff:asha", "staff:ravi")


def details(rng: random.Random) -> dict[str, object]:
    """What Order.place records, without a mesh analysis or a quote (fixed, plausible)."""
    customer = f"user-{rng.randrange(500):03d}"
    total_paise = round(rng.uniform(150, 4000) * 100)
    return {
        "customer_id": customer,
        "customer_email": f"{customer}@example.com",
        "group_id": None,
        "model": {"filename": f"part-{rng.randrange(100)}.stl", "volume_cm3": 12.5},
        "material": rng.choice(("PLA", "PETG", "ABS")),
        "color": "black",
        "quantity": rng.randrange(1, 4),
        "infill_pct": 20.0,
        "fulfillment": "pickup",
        "priority": rng.random() < 0.1,
        "shipping_address": None,
        "customer_notes": "",
        "price": {"total_paise": total_paise, "currency": "INR"},
        "settings_version": 1,
        "request_fingerprint": uuid4().hex,
        "actor": f"customer:{customer}",
    }


def lifecycle(rng: random.Random) -> list[Step]:
    """The steps after placement: paid and printed, shipped and delivered, or cancelled."""
    staff = rng.choice(STAFF)
    if rng.random() < 0.1:
        return [lambda o: o.change_status("cancelled", actor="customer:x")]
    steps: list[Step] = [
        lambda o: o.confirm_payment(method="upi", reference=uuid4().hex[:12], actor="system"),
        lambda o: o.change_status("printing", actor=staff),
        lambda o: o.change_status("post_processing", actor=staff),
        lambda o: o.change_status("shipped", actor=staff),
        lambda o: o.change_status("delivered", actor="system:carrier"),
    ]
    if rng.random() < 0.3:
        steps.insert(
            2,
            lambda o: o.add_note(
                note_id=uuid4().hex[:16], text="check", is_internal=True, actor=staff
            ),
        )
    return steps[: rng.randrange(0, len(steps) + 1)]


def write_orders(
    app: OrderingApp, events: int, *, block: int = 50, seed: int = 7, pause: float = 0.0
) -> int:
    """Write at least `events` events of interleaved order lifecycles; the last position.

    `pause` seconds between saves make a stream that lasts, for faults to hit it midway.
    """
    rng = random.Random(seed)
    active: list[tuple[Order, list[Step]]] = []
    written, position = 0, 0
    while written < events or active:
        batch: list[Order] = []
        if written < events:
            for _ in range(block):
                order = Order.place(
                    order_id=uuid4(), tracking_number=new_tracking_number(), **details(rng)
                )
                active.append((order, lifecycle(rng)))
                batch.append(order)
        placed = {id(order) for order in batch}
        for order, steps in active:
            if steps and id(order) not in placed:
                steps.pop(0)(order)
                batch.append(order)
        active = [(o, s) for o, s in active if s]
        if not batch:
            break
        if pause and position:
            time.sleep(pause)
        recordings = app.save(*batch)
        written += len(recordings)
        position = max(r.notification.id for r in recordings)
    return position
