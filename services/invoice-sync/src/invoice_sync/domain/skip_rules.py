"""Why a document is not synced: every skip reason of the contract that depends on the snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from invoice_sync.domain.document import Document
from invoice_sync.domain.policy import SyncPolicy
from qbsync_common.contract.document_results import DocumentSkipReason


@dataclass(frozen=True)
class Skip:
    """A decision not to sync, with the contract's reason code and a message for a human."""

    reason: DocumentSkipReason
    message: str


def skip_reason(doc: Document, policy: SyncPolicy, *, already_synced: bool) -> Skip | None:
    """The first rule that keeps `doc` out of QBO, or None when it should be synced.

    Already-synced comes first: once in QBO a document is never changed from upstream, whatever
    the new snapshot says, and operators must see that a later change was not applied.
    """
    if already_synced or doc.upstream_sync_key is not None:
        return Skip(
            "already-synced",
            "The document is already in QuickBooks; later upstream "
            "changes are not applied (delete it in QuickBooks and clear its key to resync).",
        )
    if doc.pro_forma:
        return Skip("pro-forma", "Pro-forma invoices are not synced.")
    if not (doc.number or "").strip():
        return Skip("no-number", "Documents without a number are not synced.")
    if doc.net_total == Decimal(0):
        return Skip("zero-total", "Documents with a zero net total are not synced.")
    if not _kind_enabled(doc, policy):
        kind = "vendors" if doc.partner_kind == "vendor" else "clients"
        return Skip(
            "partner-kind-disabled", f"This tenant does not sync {kind} or their documents."
        )
    if doc.status is not None and doc.status not in _statuses(doc, policy):
        return Skip(
            "status-not-configured",
            f"Status {doc.status!r} does not trigger a sync for this tenant.",
        )
    cutoff = policy.sync_items_newer_than
    if cutoff is not None and doc.modified_at is not None and doc.modified_at.date() < cutoff:
        return Skip(
            "older-than-cutoff",
            f"Last modified {doc.modified_at.date().isoformat()}, before the tenant's cutoff "
            f"{cutoff.isoformat()}.",
        )
    return None


def _kind_enabled(doc: Document, policy: SyncPolicy) -> bool:
    return policy.sync_vendors if doc.partner_kind == "vendor" else policy.sync_clients


def _statuses(doc: Document, policy: SyncPolicy) -> frozenset[str]:
    if doc.partner_kind == "vendor":
        return policy.vendor_invoice_statuses
    return policy.client_invoice_statuses
