"""Turns a result event into a story key, an outcome and one printable line (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from qbsync_common.contract import events
from qbsync_dev.demo.story import (
    RECEIVED,
    SYNCED,
    document_key,
    export_key,
    partner_key,
    payment_key,
)

QBO_PARTNER = {"client": "Customer", "vendor": "Vendor"}
QBO_DOCUMENT = {"invoice": "Invoice", "bill": "Bill", "credit_memo": "CreditMemo"}


@dataclass(frozen=True)
class Observed:
    key: str | None  # None: not part of any story step (tenant events, other results)
    outcome: str
    line: str
    sync_key: str | None = None


def describe(event_type: str, data: BaseModel) -> Observed:
    match data:
        case events.PartnerSynced():
            qbo = QBO_PARTNER.get(data.kind, data.kind)
            how = "adopted existing" if data.adopted else "wrote"
            return Observed(
                partner_key(data.kind, data.partner_id),
                SYNCED,
                f"✓ {data.kind} {data.partner_id} v{data.version}: {how} QBO {qbo} "
                f"(sync key {data.sync_key})",
            )
        case events.PartnerSkipped():
            return Observed(
                partner_key(data.kind, data.partner_id),
                f"skipped:{data.reason_code}",
                f"- {data.kind} {data.partner_id} skipped ({data.reason_code}): {data.message}",
            )
        case events.PartnerSyncFailed():
            return Observed(
                partner_key(data.kind, data.partner_id),
                f"failed:{data.reason_code}",
                f"✗ {data.kind} {data.partner_id} failed ({data.reason_code}): {data.message}",
            )
        case events.DocumentSynced():
            qbo = QBO_DOCUMENT.get(data.document_kind, data.document_kind)
            return Observed(
                document_key(data.document_kind, data.document_id),
                SYNCED,
                f"✓ {data.document_kind} {data.document_id}: QBO {qbo} {data.sync_key} "
                f"no. {data.doc_number}, total {data.total} {data.currency}, "
                f"balance {data.balance}",
                data.sync_key,
            )
        case events.DocumentSkipped():
            return Observed(
                document_key(data.document_kind, data.document_id),
                f"skipped:{data.reason_code}",
                f"- {data.document_kind} {data.document_id} skipped ({data.reason_code}): "
                f"{data.message}",
            )
        case events.DocumentSyncFailed():
            return Observed(
                document_key(data.document_kind, data.document_id),
                f"failed:{data.reason_code}",
                f"✗ {data.document_kind} {data.document_id} failed ({data.reason_code}): "
                f"{data.message}",
            )
        case events.DocumentNeedsReview():
            return Observed(
                document_key(data.document_kind, data.document_id),
                f"needs-review:{data.reason}",
                f"? {data.document_kind} {data.document_id} needs review ({data.reason}): "
                f"we sent {data.expected}, QBO computed {data.qbo_total}",
            )
        case events.DocumentMarkedPaid():
            # An operator's action, not a step of the story: it must not settle any step.
            where = f"QBO {data.sync_key}" if data.sync_key else "not in QBO"
            return Observed(
                None,
                "marked-paid",
                f"$ {data.document_kind} {data.document_id} ({where}) marked paid by an operator "
                f"at {data.marked_at.isoformat()}: its QBO payments are no longer reported",
            )
        case events.PaymentReceived():
            return Observed(
                payment_key(data.invoice_id),
                RECEIVED,
                f"$ payment received for {data.invoice_id}: {data.amount_applied} {data.currency} "
                f"(QBO payment {data.qbo_payment_id}), remaining {data.remaining_balance}, "
                f"{data.status}",
            )
        case events.PaymentExported():
            return Observed(
                export_key(data.payment_id),
                SYNCED,
                f"✓ payment {data.payment_id} on {data.invoice_id}: QBO payment {data.sync_key}",
                data.sync_key,
            )
        case events.PaymentExportFailed():
            amounts = (
                f" [{data.amount} paid, {data.open_balance} owed, {data.currency}]"
                if data.amount is not None and data.open_balance is not None
                else ""
            )
            return Observed(
                export_key(data.payment_id),
                f"failed:{data.reason_code}",
                f"✗ payment {data.payment_id} on {data.invoice_id} failed ({data.reason_code})"
                f"{amounts}: {data.message}",
            )
    return Observed(None, "", f"· {event_type} {data.model_dump_json()}")
