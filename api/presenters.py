"""How orders look from outside: the customer's view never shows internal notes or costs."""

from __future__ import annotations

from typing import Any

from application.ordering import HistoryEntry
from domain.orders import Order
from domain.pricing import PriceBreakdown

# Events a customer sees on their timeline (internal notes are filtered separately).
_CUSTOMER_EVENTS = (
    "Placed",
    "StatusChanged",
    "PaymentConfirmed",
    "CarrierTrackingSet",
    "NoteAdded",
)


def _common(order: Order) -> dict[str, Any]:
    return {
        "id": str(order.id),
        "tracking_number": order.tracking_number,
        "status": order.status,
        "is_paid": order.is_paid,
        "group_id": order.group_id,
        "material": order.material,
        "color": order.color,
        "quantity": order.quantity,
        "infill": order.infill_pct,
        "fulfillment": order.fulfillment,
        "priority_print": order.priority,
        "model": order.model,
        "shipping_address": order.shipping_address,
        "carrier_tracking": order.carrier_tracking,
        "notes": order.customer_notes,
        "created_at": order.created_on.isoformat(),
        "updated_at": order.modified_on.isoformat(),
    }


def customer_order(order: Order, history: list[HistoryEntry] | None = None) -> dict[str, Any]:
    """The order as its customer sees it, with the public timeline if given."""
    body = {**_common(order), "price": PriceBreakdown.from_dict(order.price).customer_view()}
    if history is not None:
        body["timeline"] = customer_timeline(history)
    return body


def customer_timeline(history: list[HistoryEntry]) -> list[dict[str, Any]]:
    """Status changes, payment, tracking and customer-visible notes, oldest first."""
    timeline = []
    for entry in history:
        if entry.type not in _CUSTOMER_EVENTS:
            continue
        if entry.type == "NoteAdded" and entry.data["is_internal"]:
            continue
        item: dict[str, Any] = {"type": entry.type, "at": entry.timestamp.isoformat()}
        if entry.type == "StatusChanged":
            item["status"] = entry.data["to_status"]
        elif entry.type == "CarrierTrackingSet":
            item["tracking_number"] = entry.data["tracking_number"]
            item["tracking_url"] = entry.data["tracking_url"]
        elif entry.type == "NoteAdded":
            item["note"] = entry.data["text"]
        timeline.append(item)
    return timeline


def staff_order(order: Order, printer_name: str | None = None) -> dict[str, Any]:
    """Everything staff need: customer, full cost lines, notes, versions, the printer."""
    return {
        **_common(order),
        "customer_id": order.customer_id,
        "customer_email": order.customer_email,
        "price": PriceBreakdown.from_dict(order.price).rupees(),
        "settings_version": order.settings_version,
        "version": order.version,
        "staff_notes": order.notes,
        "printer": {"id": order.printer_id, "name": printer_name} if order.printer_id else None,
    }


def slice_view(job: dict[str, Any]) -> dict[str, Any]:
    """A slice job as clients see it (the slice-jobs view's row, or a job's record): its
    state, printer and profile, the slicer's figures once sliced, the reason if it failed."""
    view: dict[str, Any] = {
        "job_id": job["job_id"],
        "status": job["status"],
        "poll": f"/api/quote/firm/{job['job_id']}",
        "printer": job["printer"],
        "material": job["material"],
        "profile": job["profile_fingerprint"],
        "attempts": job["attempts"],
    }
    result, failure = job.get("result"), job.get("failure")
    if job["status"] == "sliced" and result:
        view["slicer"] = result["slicer_version"]
        view["figures"] = {
            key: result[key]
            for key in ("filament_g", "filament_mm", "filament_cm3", "print_seconds", "layers")
        }
    if job["status"] == "failed" and failure:
        view["failure"] = failure
    return view
