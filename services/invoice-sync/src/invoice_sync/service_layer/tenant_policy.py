"""TenantSettings (the contract's model) → the SyncPolicy the domain decides with."""

from __future__ import annotations

from invoice_sync.domain.policy import SyncPolicy
from qbsync_common.contract.tenant_settings import TenantSettings


def policy_of(settings: TenantSettings) -> SyncPolicy:
    return SyncPolicy(
        sync_clients=settings.sync_clients,
        sync_vendors=settings.sync_vendors,
        client_invoice_statuses=frozenset(settings.client_invoice_statuses),
        vendor_invoice_statuses=frozenset(settings.vendor_invoice_statuses),
        sync_items_newer_than=settings.sync_items_newer_than,
        item_naming=settings.item_naming,
        fixed_item_name=settings.fixed_item_name,
        income_account_id=settings.income_account_id,
        expense_account_id=settings.expense_account_id,
        deposit_account_id=settings.deposit_account_id,
        export_payments_by_default=settings.export_payments_by_default,
        projects_as_sub_customers=settings.projects_as_sub_customers,
        bill_lines_billable_to_client=settings.bill_lines_billable_to_client,
    )
