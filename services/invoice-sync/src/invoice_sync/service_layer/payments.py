"""Payments recorded upstream → QBO Payments (client invoices) or BillPayments (vendor invoices),
linked to their synced document, when the tenant or the payment asks for it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from invoice_sync.adapters import repository as repo
from invoice_sync.domain.identity import carries_marker, operation_id, request_id
from invoice_sync.domain.payment_rules import (
    PaymentRefusal,
    bill_payment_payload,
    bill_payment_refusal,
    payment_amounts,
    payment_payload,
    should_export,
)
from invoice_sync.domain.preflight import CompanyProfile
from invoice_sync.service_layer import outcomes
from invoice_sync.service_layer.context import Context
from invoice_sync.service_layer.ports import Books, PaymentKind, QboDocument, QboPayment
from invoice_sync.service_layer.tenant_policy import policy_of
from qbo_client import QBOError, TenantNeedsReauthorization, UnknownTenant
from qbsync_common.contract.events import (
    PaymentExported,
    PaymentExportFailed,
    PaymentRecordedUpstream,
)
from qbsync_common.contract.payment_results import PaymentExportFailureReason

FINAL = frozenset({"exported", "unsynced"})
MARKED_PAID = "The invoice was marked paid by an operator."


def document_kind_of(event: PaymentRecordedUpstream) -> str:
    return "invoice" if event.invoice_kind == "client" else "bill"


def payment_kind_of(invoice_kind: str) -> PaymentKind:
    return "Payment" if invoice_kind == "client" else "BillPayment"


async def record_payment(
    ctx: Context, session: AsyncSession, tenant_id: str, event: PaymentRecordedUpstream
) -> None:
    await repo.advisory_lock(session, tenant_id, "payment", event.payment_id)
    # The document's lock too: a sync of the invoice in flight has collected the payments waiting
    # for it, so this one must read the invoice after that sync committed, not wait for it forever.
    # (Always payment then document; the document's side never takes a payment's lock.)
    await repo.advisory_lock(session, tenant_id, "doc", document_kind_of(event), event.invoice_id)
    row = await repo.get_payment(session, tenant_id, event.payment_id)
    if row is not None and (row["status"] in FINAL or row["version"] > event.version):
        return  # exported payments are never changed from upstream, like documents
    base = {
        "tenant_id": tenant_id,
        "payment_id": event.payment_id,
        "invoice_id": event.invoice_id,
        "invoice_kind": event.invoice_kind,
        "version": event.version,
        "snapshot": event.model_dump(mode="json"),
        "generation": int(row["generation"]) if row is not None else 0,
    }
    policy = policy_of(await ctx.settings.get(tenant_id))
    if not should_export(event.export_to_qbo, policy):
        await _status(session, base, "not_exported", "Payment export is off for this payment.")
        return
    document = await repo.get_document(
        session, tenant_id, document_kind_of(event), event.invoice_id
    )
    if document is not None and document["marked_paid"]:
        await _status(session, base, "not_exported", MARKED_PAID)
        return
    if document is None or document["sync_key"] is None:
        await _status(session, base, "waiting_invoice", "Waiting for the invoice to be synced.")
        return
    uncertain = row is not None and row["status"] == "exporting"
    await export_payment(ctx, session, tenant_id, event, document, base, uncertain=uncertain)


async def export_payment(
    ctx: Context,
    session: AsyncSession,
    tenant_id: str,
    event: PaymentRecordedUpstream,
    document: RowMapping,
    base: dict[str, Any],
    *,
    uncertain: bool = False,
) -> None:
    operation = operation_id(tenant_id, "payment", event.payment_id, int(base["generation"]))
    kind = payment_kind_of(event.invoice_kind)
    books = ctx.books.for_tenant(tenant_id)
    party = await repo.partner_key(session, tenant_id, event.invoice_kind, document["partner_id"])
    try:
        profile = await ctx.profiles.get(
            tenant_id, books, policy_of(await ctx.settings.get(tenant_id))
        )
        qbo_document = await books.get_document(document["document_kind"], document["sync_key"])
        if qbo_document is None or party is None:
            await _failed(
                ctx,
                session,
                base,
                event,
                "invoice-not-synced",
                f"Invoice {event.invoice_id} is no longer in QuickBooks.",
                operation,
            )
            return
        body = _body(event, document, qbo_document, profile, party, operation)
        if isinstance(body, PaymentRefusal):
            # Nothing was written to QBO: a later version of the payment may still go.
            await _failed(
                ctx, session, base, event, body.reason, body.message, operation, refusal=body
            )
            return
        # Intent first: after a crash the row says a payment may exist in QBO under this operation.
        async with ctx.sessions() as intent, intent.begin():
            await repo.save_payment(
                intent,
                {
                    **base,
                    "status": "exporting",
                    "reason_code": None,
                    "message": None,
                    "operation_id": operation,
                },
            )
        found = await _ours(books, kind, event, operation) if uncertain else None
        payment = found or await books.create_payment(
            kind, body, request_id=request_id(operation, "create")
        )
    except TenantNeedsReauthorization:
        await _failed(
            ctx,
            session,
            base,
            event,
            "needs-reauthorization",
            "The tenant must reconnect QuickBooks.",
            operation,
        )
        return
    except UnknownTenant:
        await _failed(
            ctx,
            session,
            base,
            event,
            "tenant-not-connected",
            "The tenant has no QuickBooks connection.",
            operation,
        )
        return
    except QBOError as exc:
        if exc.transient:
            raise
        # QBO refused (nothing was created): the next attempt needs a fresh requestid.
        await _failed(
            ctx,
            session,
            {**base, "generation": int(base["generation"]) + 1},
            event,
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
    await outcomes.emit(ctx, session, base["tenant_id"], exported, event.payment_id)


def _body(
    event: PaymentRecordedUpstream,
    document: RowMapping,
    qbo_document: QboDocument,
    profile: CompanyProfile,
    party: str,
    operation: str,
) -> dict[str, Any] | PaymentRefusal:
    """The QBO body, or why the payment cannot be sent."""
    rate = Decimal(str(document["snapshot"].get("exchange_rate", "1")))
    amounts = payment_amounts(
        event.amount, event.currency, rate, qbo_document.balance, profile.currency
    )
    currency = qbo_document.currency if profile.currency.multicurrency else None
    if event.invoice_kind == "client":
        return payment_payload(
            amounts,
            customer_key=party,
            invoice_key=qbo_document.id,
            paid_on=event.paid_at.isoformat(),
            reference=event.reference,
            deposit_account_id=profile.deposit_account_id,
            currency=currency,
            operation=operation,
            payment_id=event.payment_id,
        )
    refusal = bill_payment_refusal(
        amounts, event.invoice_id, qbo_document.currency or profile.currency.home_currency
    )
    if refusal is not None:
        return refusal
    if profile.bank_account_id is None:
        return PaymentRefusal(
            "other", "QuickBooks has no active bank account to pay the bill from."
        )
    return bill_payment_payload(
        amounts,
        vendor_key=party,
        bill_key=qbo_document.id,
        paid_on=event.paid_at.isoformat(),
        bank_account_id=profile.bank_account_id,
        currency=currency,
        operation=operation,
        payment_id=event.payment_id,
    )


async def _ours(
    books: Books, kind: PaymentKind, event: PaymentRecordedUpstream, operation: str
) -> QboPayment | None:
    """A previous attempt's payment, recognised by our marker (its requestid may have expired)."""
    return next(
        (
            p
            for p in await books.payments_on(kind, event.paid_at)
            if carries_marker(p.private_note, operation)
        ),
        None,
    )


async def export_waiting_payments(
    ctx: Context, session: AsyncSession, tenant_id: str, kind: str, document_id: str
) -> None:
    """The document just got its key: payments that waited for it go now, in the same transaction."""
    document = await repo.get_document(session, tenant_id, kind, document_id)
    if document is None or document["sync_key"] is None:
        return
    for row in await repo.payments_waiting_for(session, tenant_id, document_id):
        event = PaymentRecordedUpstream.model_validate(row["snapshot"])
        if document_kind_of(event) != kind:
            continue
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
        if document["marked_paid"]:
            # Marked paid while the payment waited: the operator's decision holds here too.
            await _status(session, base, "not_exported", MARKED_PAID)
            continue
        # "exporting": an earlier attempt died after its intent; QBO may have the payment already.
        uncertain = row["status"] == "exporting"
        await export_payment(ctx, session, tenant_id, event, document, base, uncertain=uncertain)


async def _status(session: AsyncSession, base: dict[str, Any], status: str, message: str) -> None:
    await repo.save_payment(
        session, {**base, "status": status, "reason_code": None, "message": message}
    )


async def _failed(
    ctx: Context,
    session: AsyncSession,
    base: dict[str, Any],
    event: PaymentRecordedUpstream,
    reason: PaymentExportFailureReason,
    message: str,
    operation: str,
    *,
    refusal: PaymentRefusal | None = None,
) -> None:
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
        amount=refusal.amount if refusal else None,
        open_balance=refusal.open_balance if refusal else None,
        currency=refusal.currency if refusal else None,
    )
    await outcomes.emit(ctx, session, base["tenant_id"], failed, event.payment_id)
