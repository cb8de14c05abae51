"""What a tenant's settings mean for documents and payments, as plain values the domain reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal


@dataclass(frozen=True)
class SyncPolicy:
    """The slice of a tenant's settings invoice-sync decides with (built from TenantSettings)."""

    sync_clients: bool = True
    sync_vendors: bool = True
    client_invoice_statuses: frozenset[str] = frozenset({"sent"})
    vendor_invoice_statuses: frozenset[str] = frozenset({"approved"})
    sync_items_newer_than: date | None = None
    item_naming: Literal["line_name", "fixed"] = "line_name"
    fixed_item_name: str = "Services"
    income_account_id: str | None = None
    expense_account_id: str | None = None
    deposit_account_id: str | None = None
    export_payments_by_default: bool = False
    bill_lines_billable_to_client: bool = False
    projects_as_sub_customers: bool = False
