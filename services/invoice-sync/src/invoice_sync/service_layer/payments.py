"""Payments recorded upstream → QBO Payments linked to their synced invoice (when enabled)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from invoice_sync.adapters import repository as repo
from invoice_sync.domain.identity import operation_id, request_id
from invoice_sync.domain.payment_rules import payment_amounts, payment_payload, should_export
from invoice_sync.service_layer import outcomes
from invoice_sync.service_layer.context import Context
from invoice_sync.service_layer.tenant_policy import policy_of
from qbo_client import QBOError, TenantNeedsReauthorization, UnknownTenant
from qbsync_common.contract.events import (
    PaymentExported,
    PaymentExportFailed,
    PaymentRecordedUpstream,
)
from qbsync_common.contract.payment_results import PaymentExportFailureReason

FINAL = frozenset({"exported", "unsynced"})


async def record_payment(
    ctx: Context, session: AsyncSession, tenant_id: str, event: PaymentRecordedUpstream
) -> None:
    await repo.advisory_lock(session, tenant_id, "payment", event.payment_id)
    row = await repo.get_payment(session, tenant_id, event.payment_id)
    if row is not None and (row["status"] in FINAL or row["version"] > event.version):
        return  # exported payments are never changed from upstream, like documents
    generation = int(row["generation"]) if row is not None else 0
    base = {
        "tenant_id": tenant_id,
        "payment_id": event.payment_id,
        "invoice_id": event.invoice_id,
        "invoice_kind": event.invoice_kind,
        "version": event.version,
        "snapshot": event.model_dump(mode="json"),
        "generation": generation,
    }
    policy = policy_of(await ctx.settings.get(tenant_id))
    if not should_export(event.export_to_qbo, policy):
        await repo.save_payment(
            session,
            {
                **base,
                "status": "not_exported",
                "reason_code": None,
                "message": "Payment export is off for this payment.",
            },
        )
        return
    if event.invoice_kind == "vendor":
        await _failed(
            ctx,
            session,
            tenant_id,
            event,
            base,
            "other",
            "Vendor bill payments are not exported to QuickBooks by qbsync yet.",
        )
        return
    invoice = await repo.get_document(session, tenant_id, "invoice", event.invoice_id)
    if invoice is not None and invoice["marked_paid"]:
        await repo.save_payment(
            session,
            {
                **base,
                "status": "not_exported",
                "reason_code": None,
                "message": "The invoice was marked paid by an operator.",
            },
        )
        return
    if invoice is None or invoice["sync_key"] is None:
        await repo.save_payment(
            session,
            {
                **base,
                "status": "waiting_invoice",
                "reason_code": None,
                "message": "Waiting for the invoice to be synced.",
            },
        )
        return
    await export_payment(ctx, session, tenant_id, event, invoice, base)


async def export_payment(
    ctx: Context,
    session: AsyncSession,
    tenant_id: str,
    event: PaymentRecordedUpstream,
    invoice: RowMapping,
    base: dict[str, Any],
) -> None:
    operation = operation_id(tenant_id, "payment", event.payment_id, int(base["generation"]))
    rid = request_id(operation, "create")
    books = ctx.books.for_tenant(tenant_id)
    policy = policy_of(await ctx.settings.get(tenant_id))
    customer = await repo.partner_key(session, tenant_id, "client", invoice["partner_id"])
    try:
        profile = await ctx.profiles.get(tenant_id, books, policy)
        qbo_invoice = await books.get_document("invoice", invoice["sync_key"])
        if qbo_invoice is None or customer is None:
            await _failed(
                ctx,
                session,
                tenant_id,
                event,
                base,
                "invoice-not-synced",
                f"Invoice {event.invoice_id} is no longer in QuickBooks.",
                operation,
            )
            return
        rate = invoice["snapshot"].get("exchange_rate", "1")
        amounts = payment_amounts(
            event.amount, event.currency, _decimal(rate), qbo_invoice.balance, profile.currency
        )
        body = payment_payload(
            amounts,
            customer_key=customer,
            invoice_key=qbo_invoice.id,
            paid_on=event.paid_at.isoformat(),
            reference=event.reference,
            deposit_account_id=profile.deposit_account_id,
            currency=qbo_invoice.currency if profile.currency.multicurrency else None,
            operation=operation,
            payment_id=event.payment_id,
        )
        payment = await books.create_payment(body, request_id=rid)
    except TenantNeedsReauthorization:
        await _failed(
            ctx,
            session,
            tenant_id,
            event,
            base,
            "needs-reauthorization",
            "The tenant must reconnect QuickBooks.",
            operation,
        )
        return
    except UnknownTenant:
        await _failed(
            ctx,
            session,
            tenant_id,
            event,
            base,
            "tenant-not-connected",
            "The tenant has no QuickBooks connection.",
            operation,
        )
        return
    except QBOError as exc:
        if exc.transient:
            raise
        # QBO refused (nothing was created): the next attempt needs a fresh requestid.
        base = {**base, "generation": int(base["generation"]) + 1}
        await _failed(
            ctx,
            session,
            tenant_id,
            event,
            base,
            "qbo-validation",
            f"QuickBooks refused the payment: {exc.detail or exc.message}",
            operation,
        )
        return
    await repo.save_payment(
        session,
        {
            **base,
            "status": "exported",
            "reason_code": None,
            "message": None,
            "operation_id": operation,
            "sync_key": payment.id,
            "sync_token": payment.sync_token,
        },
    )
    exported = PaymentExported(
        payment_id=event.payment_id,
        invoice_id=event.invoice_id,
        version=event.version,
        sync_key=payment.id,
        sync_token=payment.sync_token,
        operation_id=operation,
    )
    await outcomes.emit(ctx, session, tenant_id, exported, event.payment_id)


async def export_waiting_payments(
    ctx: Context, session: AsyncSession, tenant_id: str, invoice_id: str
) -> None:
    """The invoice just got its key: payments that waited for it go now, in the same transaction."""
    invoice = await repo.get_document(session, tenant_id, "invoice", invoice_id)
    if invoice is None or invoice["sync_key"] is None:
        return
    for row in await repo.payments_waiting_for(session, tenant_id, invoice_id):
        event = PaymentRecordedUpstream.model_validate(row["snapshot"])
        base = {
            k: row[k]
            for k in (
                "tenant_id",
                "payment_id",
                "invoice_id",
                "invoice_kind",
                "version",
                "snapshot",
                "generation",
            )
        }
        await export_payment(ctx, session, tenant_id, event, invoice, base)


async def _failed(
    ctx: Context,
    session: AsyncSession,
    tenant_id: str,
    event: PaymentRecordedUpstream,
    base: dict[str, Any],
    reason: PaymentExportFailureReason,
    message: str,
    operation: str | None = None,
) -> None:
    operation = operation or operation_id(
        tenant_id, "payment", event.payment_id, int(base["generation"])
    )
    await repo.save_payment(
        session,
        {
            **base,
            "status": "failed",
            "reason_code": reason,
            "message": message,
            "operation_id": operation,
        },
    )
    failed = PaymentExportFailed(
        payment_id=event.payment_id,
        invoice_id=event.invoice_id,
        version=event.version,
        reason_code=reason,
        message=message,
        operation_id=operation,
    )
    await outcomes.emit(ctx, session, tenant_id, failed, event.payment_id)


def _decimal(value: object) -> Decimal:
    return Decimal(str(value))
