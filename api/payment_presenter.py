"""How a payment looks from outside: amounts in rupees and paise, the UPI intent, refunds."""

from __future__ import annotations

from typing import Any

from application.payments import Payments
from domain.money import rupees_json
from domain.payments import Payment


def payment_view(payment: Payment, payments: Payments, base: str = "/api/user") -> dict[str, Any]:
    """The payment with its UPI intent (QR links under `base`) and refunds."""
    intent = payments.upi_intent(payment)
    qr = f"{base}/payments/{payment.id}/upi-qr"
    return {
        "id": str(payment.id),
        "reference": payment.reference,
        "status": payment.status,
        "order_ids": payment.order_ids,
        "amount_due": rupees_json(payment.amount_due_paise),
        "amount_due_paise": payment.amount_due_paise,
        "received": rupees_json(payment.received_paise),
        "received_paise": payment.received_paise,
        "outstanding_paise": payment.outstanding_paise,
        "method": payment.method,
        "utr": payment.utr,
        "invoice_number": payment.invoice_number,
        "refunds": [
            {
                "key": key,
                "amount": rupees_json(r["amount_paise"]),
                "amount_paise": r["amount_paise"],
                "reason": r["reason"],
                "reference": r["reference"],
            }
            for key, r in payment.refunds.items()
        ],
        "upi": None
        if intent is None
        else {
            "link": intent.link,
            "vpa": intent.vpa,
            "payee_name": intent.payee_name,
            "amount": rupees_json(intent.amount_paise),
            "amount_paise": intent.amount_paise,
            "reference": intent.reference,
            "qr_png_url": f"{qr}.png",
            "qr_svg_url": f"{qr}.svg",
        },
        "card_payments": payments.cards is not None and not payment.is_confirmed,
    }
