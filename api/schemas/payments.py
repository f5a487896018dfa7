"""Payments as customers and staff see them (money as rupees and as integer paise)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.text import TextBody


class UpiIntentView(BaseModel):
    """What any UPI app needs: the link (also as QR images) and its parts."""

    link: str = Field(description="upi://pay?pa=...&pn=...&am=...&cu=INR&tr=...&tn=...")
    vpa: str
    payee_name: str
    amount: float = Field(description="Rupees, two decimals.")
    amount_paise: int
    reference: str = Field(description="The `tr` of the link: quote it with your UTR.")
    qr_png_url: str
    qr_svg_url: str


class RefundView(BaseModel):
    """Money due back: for an order, an excess, or a duplicate payment."""

    key: str
    amount: float
    amount_paise: int
    reason: str
    reference: str | None = Field(description="The refund's id or bank reference once sent.")


class PaymentView(BaseModel):
    """A payment: what is due, what arrived, and how to pay the rest."""

    id: str
    reference: str
    status: str = Field(description="awaiting, submitted, short, over or confirmed.")
    order_ids: list[str]
    amount_due: float
    amount_due_paise: int
    received: float
    received_paise: int
    outstanding_paise: int
    method: str | None
    utr: str | None
    invoice_number: str | None
    refunds: list[RefundView]
    upi: UpiIntentView | None = Field(description="null when nothing is left to pay by UPI.")
    card_payments: bool = Field(description="Whether POST .../card can open a card payment.")


class PaymentAnswer(BaseModel):
    """A payment after a change, with the log position the change wrote."""

    payment: PaymentView
    position: int


class UtrBody(TextBody):
    """The UPI reference number (UTR) the payer's app shows after paying."""

    utr: str = Field(max_length=40, description="12 digits.")


class CardIntentView(BaseModel):
    """A card payment intent for the browser to confirm with Stripe.js."""

    intent_id: str
    client_secret: str
    status: str


class ReconcileBody(TextBody):
    """What the bank statement shows for the UTR."""

    amount: str = Field(max_length=20, description="Rupees received, e.g. 1234.50.")


class ReasonBody(TextBody):
    """Why staff refuse a UTR."""

    reason: str = Field(min_length=1, max_length=500)


class RefundSentBody(TextBody):
    """The bank or UPI reference of a refund staff sent."""

    reference: str = Field(min_length=1, max_length=100)


class PaymentRow(BaseModel):
    """A line of the staff payments list."""

    id: str
    covers: str
    customer_id: str
    order_count: int
    status: str
    amount_due_paise: int
    received_paise: int
    method: str | None
    utr: str | None
    invoice_number: str | None
    refunds_due: int
    refunds_due_paise: int
    created_at: str
    updated_at: str


class PaymentPage(BaseModel):
    """A page of payments."""

    payments: list[PaymentRow]
    page: int
    limit: int
    total: int


class WebhookAnswer(BaseModel):
    """The provider only needs a 2xx; `duplicate` says the event was handled before."""

    received: bool
    duplicate: bool
