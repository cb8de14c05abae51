"""Value objects that several events carry: addresses, document lines, payment terms."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from qbsync_common.contract.scalars import ExactDecimal, Money

PartnerKind = Literal["client", "vendor"]
"""Clients become QBO Customers, vendors become QBO Vendors."""

DocumentKind = Literal["invoice", "bill", "credit_memo"]
"""QBO document type: client invoice → Invoice, vendor invoice → Bill, credit memo → CreditMemo."""


class Address(BaseModel):
    """A postal address as the upstream app holds it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    line1: str | None = Field(None, max_length=500, description="First street line.")
    line2: str | None = Field(None, max_length=500, description="Second street line.")
    city: str | None = Field(None, max_length=255, description="City or town.")
    region: str | None = Field(
        None, max_length=255, description="State, province or county (QBO CountrySubDivisionCode)."
    )
    postal_code: str | None = Field(None, max_length=30, description="Postal or ZIP code.")
    country: str | None = Field(
        None, max_length=255, description="Country name or ISO 3166 code, as upstream holds it."
    )


class DocumentLine(BaseModel):
    """One line of an invoice, bill or credit memo, in the document's currency."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(
        min_length=1,
        max_length=500,
        description="Line name; the tenant's item naming rule maps it to a QBO item.",
    )
    description: str | None = Field(None, max_length=4000, description="Free-text description.")
    quantity: ExactDecimal = Field(description='Quantity as an exact decimal string, e.g. "1.5".')
    unit_price: Money = Field(
        description='Price per unit as an exact decimal string, e.g. "80.00".'
    )
    amount: Money = Field(
        description="Net line amount (normally quantity times unit price), exact decimal string."
    )


class PaymentTerms(BaseModel):
    """Payment terms; created in QBO as a Term when missing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=31, description="Terms name, e.g. 'Net 30'.")
    due_days: int = Field(ge=0, le=999, description="Days after the issue date the payment is due.")
