"""Tenant sync settings: the validated model every service reads (published by oauth-gateway)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_ID = "https://qbsync.dev/contracts/tenant-settings.schema.json"


class NameDisambiguation(BaseModel):
    """How a partner is renamed when a client and a vendor would share a QBO display name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_suffix: str = Field(
        "", max_length=40, description="Appended to a client's name; '' = none"
    )
    vendor_suffix: str = Field(
        " (V)", max_length=40, description="Appended to a vendor's name; '' = none"
    )


class TenantSettings(BaseModel):
    """Everything a tenant can configure about syncing its books; defaults suit a new tenant."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={"$id": SCHEMA_ID, "title": "qbsync tenant settings"},
    )

    sync_clients: bool = Field(True, description="Sync clients (QBO Customers) and their invoices")
    sync_vendors: bool = Field(
        True, description="Sync vendors (QBO Vendors) and their invoices (Bills)"
    )
    contact_types: list[str] = Field(
        default_factory=list,
        max_length=50,
        description="Only partners whose contact type is listed are synced; empty = all types",
    )
    client_invoice_statuses: list[str] = Field(
        default_factory=lambda: ["sent"],
        max_length=50,
        description="Upstream client-invoice statuses that trigger a sync to QBO",
    )
    vendor_invoice_statuses: list[str] = Field(
        default_factory=lambda: ["approved"],
        max_length=50,
        description="Upstream vendor-invoice statuses that trigger a sync to QBO",
    )
    sync_items_newer_than: date | None = Field(
        None, description="Documents last modified before this date are skipped; null = no cutoff"
    )
    income_account_id: str | None = Field(
        None,
        max_length=32,
        description="QBO Account Id for income on invoice lines; null = QBO default",
    )
    expense_account_id: str | None = Field(
        None,
        max_length=32,
        description="QBO Account Id for expenses on bill lines; null = QBO default",
    )
    item_naming: Literal["line_name", "fixed"] = Field(
        "line_name",
        description="Item on lines: one per upstream line name, or always `fixed_item_name`",
    )
    fixed_item_name: str = Field(
        "Services",
        min_length=1,
        max_length=100,
        description="Item name when item_naming is 'fixed'",
    )
    deposit_account_id: str | None = Field(
        None,
        max_length=32,
        description="QBO Account Id payments are deposited to; null = Undeposited Funds",
    )
    export_payments_by_default: bool = Field(
        False,
        description="Whether payments recorded upstream go to QBO when the event does not say",
    )
    payment_poll_interval_seconds: int = Field(
        900, ge=300, le=86400, description="How often QBO is polled for payments on open invoices"
    )
    projects_as_sub_customers: bool = Field(
        False, description="Create upstream projects as QBO sub-customers of their client"
    )
    bill_lines_billable_to_client: bool = Field(
        False,
        description="Vendor bill lines carry the invoice's client (or the project's sub-customer) "
        "as billable customer",
    )
    name_disambiguation: NameDisambiguation = Field(
        default_factory=lambda: NameDisambiguation(),
        description="Suffixes used when a client and a vendor share a name",
    )
    automatch_threshold: float = Field(
        1.0,
        ge=0.5,
        le=1.0,
        description="Similarity (0.5-1.0) to adopt an existing QBO record; 1.0 = exact only",
    )
    automatch_auto_apply: bool = Field(
        False,
        description="Link automatch proposals scoring at or above automatch_threshold without "
        "an operator's review; false = every proposal waits in the review queue (a wrong link "
        "lets upstream data overwrite an unrelated QBO record)",
    )
