"""Upstream events as an upstream app would publish them, with sensible defaults per test."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from qbsync_common.contract.events import (
    CreditMemoIssued,
    InvoiceStatusChanged,
    PartnerSnapshot,
    PartnerSynced,
    PartnerSyncFailed,
    PaymentRecordedUpstream,
    ProjectSynced,
)
from qbsync_common.contract.partner_results import PartnerFailureReason
from qbsync_common.contract.tenants import EntityChange, QboEntitiesChanged
from qbsync_common.contract.values import DocumentLine


def line(name: str, amount: str, qty: str = "1", price: str | None = None) -> DocumentLine:
    return DocumentLine(
        name=name,
        quantity=Decimal(qty),
        unit_price=Decimal(price or amount),
        amount=Decimal(amount),
    )


def invoice(**changes: Any) -> InvoiceStatusChanged:
    values: dict[str, Any] = {
        "kind": "client",
        "invoice_id": f"inv-{uuid.uuid4().hex[:8]}",
        "version": 1,
        "number": f"N{uuid.uuid4().int % 10**8}",
        "status": "sent",
        "pro_forma": False,
        "issue_date": date(2026, 3, 2),
        "due_date": None,
        "modified_at": datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        "partner_id": "c-1",
        "currency": "USD",
        "exchange_rate": Decimal(1),
        "lines": [line("Translation", "100.00"), line("Proofreading", "200.00")],
        "net_total": Decimal("300.00"),
    }
    values.update(changes)
    return InvoiceStatusChanged(**values)


def credit_memo(**changes: Any) -> CreditMemoIssued:
    values: dict[str, Any] = {
        "credit_memo_id": f"cm-{uuid.uuid4().hex[:8]}",
        "version": 1,
        "number": f"CM{uuid.uuid4().int % 10**8}",
        "partner_id": "c-1",
        "issue_date": date(2026, 3, 10),
        "currency": "USD",
        "exchange_rate": Decimal(1),
        "lines": [line("Translation", "60.00")],
        "net_total": Decimal("60.00"),
    }
    values.update(changes)
    return CreditMemoIssued(**values)


def partner(
    partner_id: str = "c-1", kind: str = "client", name: str | None = None
) -> PartnerSnapshot:
    return PartnerSnapshot(
        kind=kind,
        partner_id=partner_id,
        version=1,
        name=name or f"Partner {partner_id}",
        currency="USD",
        active=True,
    )


def partner_synced(sync_key: str, partner_id: str = "c-1", kind: str = "client") -> PartnerSynced:
    return PartnerSynced(
        kind=kind,
        partner_id=partner_id,
        version=1,
        sync_key=sync_key,
        sync_token="0",
        adopted=False,
        operation_id=f"op-{uuid.uuid4().hex[:8]}",
    )


def partner_failed(
    partner_id: str,
    reason_code: PartnerFailureReason,
    message: str,
    *,
    version: int = 1,
    kind: str = "client",
) -> PartnerSyncFailed:
    return PartnerSyncFailed(
        kind=kind,
        partner_id=partner_id,
        version=version,
        reason_code=reason_code,
        message=message,
        operation_id=f"op-{uuid.uuid4().hex[:8]}",
    )


def payment(invoice_id: str, amount: str, **changes: Any) -> PaymentRecordedUpstream:
    values: dict[str, Any] = {
        "payment_id": f"pay-{uuid.uuid4().hex[:8]}",
        "invoice_id": invoice_id,
        "invoice_kind": "client",
        "version": 1,
        "amount": Decimal(amount),
        "currency": "USD",
        "paid_at": date(2026, 3, 20),
        "reference": "SEPA-1",
        "export_to_qbo": None,
    }
    values.update(changes)
    return PaymentRecordedUpstream(**values)


def entities_changed(realm_id: str, *names: str) -> QboEntitiesChanged:
    """What the gateway publishes when Intuit's webhook reports changes in the company."""
    now = datetime.now(UTC)
    return QboEntitiesChanged(
        realm_id=realm_id,
        entities=[
            EntityChange(name=name, id="1", operation="Update", last_updated=now) for name in names
        ],
    )


def project_synced(sync_key: str, project_id: str = "p-1", client_id: str = "c-5") -> ProjectSynced:
    return ProjectSynced(
        project_id=project_id,
        client_id=client_id,
        version=1,
        sync_key=sync_key,
        sync_token="0",
        adopted=False,
        operation_id=f"op-{uuid.uuid4().hex[:8]}",
    )
