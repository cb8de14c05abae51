"""A partner's full snapshot: partner.upserted's data, also carried by documents and commands."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from qbsync_common.contract.scalars import CurrencyCode, Identifier
from qbsync_common.contract.values import Address, PartnerKind

VERSION_DESCRIPTION = (
    "Monotonic snapshot version of this record upstream; "
    "an older version never overwrites a newer one."
)


class PartnerSnapshot(BaseModel):
    """A client or vendor as the upstream app holds it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: PartnerKind = Field(description="client → QBO Customer, vendor → QBO Vendor.")
    partner_id: Identifier = Field(description="The partner's id in the upstream app.")
    version: int = Field(ge=0, description=VERSION_DESCRIPTION)
    name: str = Field(min_length=1, max_length=500, description="The partner's name upstream.")
    display_name: str | None = Field(
        None,
        max_length=500,
        description="Name to show in QBO (DisplayName) when it differs from `name`; "
        "qbsync cleans characters QBO forbids.",
    )
    company_name: str | None = Field(None, max_length=500, description="Legal company name.")
    contact_type: str | None = Field(
        None,
        max_length=100,
        description="Upstream contact type; tenants may sync only some contact types.",
    )
    email: str | None = Field(None, max_length=254, description="Primary billing e-mail address.")
    phone: str | None = Field(None, max_length=50, description="Primary phone number.")
    website: str | None = Field(None, max_length=1000, description="Web site address.")
    tax_id: str | None = Field(None, max_length=50, description="Tax or VAT registration number.")
    billing_address: Address | None = Field(None, description="Billing address, if known.")
    currency: CurrencyCode = Field(
        description="ISO 4217 currency of the partner's default price profile; set in QBO only "
        "when the partner is created there and never changed afterwards."
    )
    active: bool = Field(
        description="Inactive partners are not created in QBO; synced ones are deactivated."
    )
