"""Putting one document into QBO: rules, dependencies, preflight, then exactly one QBO document."""

from __future__ import annotations

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from invoice_sync.adapters import repository as repo
from invoice_sync.domain.amounts import plan_amounts
from invoice_sync.domain.document import Document
from invoice_sync.domain.identity import operation_id, request_id
from invoice_sync.domain.payloads import References, document_payload
from invoice_sync.domain.policy import SyncPolicy
from invoice_sync.domain.skip_rules import skip_reason
from invoice_sync.service_layer import outcomes
from invoice_sync.service_layer.context import Context
from invoice_sync.service_layer.creation import CreateFailed, StaleNames, create_once
from invoice_sync.service_layer.dependencies import referenced_keys, wait_for_partner
from invoice_sync.service_layer.named_refs import InactiveInQbo, forget_names, items_and_term
from invoice_sync.service_layer.outcomes import Origin
from invoice_sync.service_layer.payments import export_waiting_payments
from invoice_sync.service_layer.synced import record_synced
from invoice_sync.service_layer.tenant_policy import policy_of
from qbo_client import TenantNeedsReauthorization, UnknownTenant
from qbsync_common.messaging.errors import TransientError

DONE = frozenset({"synced", "needs_review"})


async def process_document(
    ctx: Context, session: AsyncSession, tenant_id: str, doc: Document, origin: Origin
) -> None:
    """Decide and act for one snapshot; every outcome is written into `session` (the caller's
    final transaction), which holds the document's lock until it commits."""
    await repo.advisory_lock(session, tenant_id, "doc", doc.kind, doc.document_id)
    row = await repo.get_document(session, tenant_id, doc.kind, doc.document_id)
    policy = policy_of(await ctx.settings.get(tenant_id))
    done = row is not None and row["status"] in DONE
    if row is not None and not done and doc.version < row["version"]:
        await outcomes.skipped(
            ctx,
            session,
            tenant_id,
            doc,
            origin,
            "older-version",
            f"Version {doc.version} is older than version {row['version']} already handled.",
            keep_row=True,
        )
        return
    skip = skip_reason(doc, policy, already_synced=done)
    if skip is not None:
        await outcomes.skipped(
            ctx, session, tenant_id, doc, origin, skip.reason, skip.message, keep_row=done
        )
        return
    generation = int(row["generation"]) if row is not None else 0
    operation = operation_id(tenant_id, doc.kind, doc.document_id, generation)
    partner_key = await repo.partner_key(session, tenant_id, doc.partner_kind, doc.partner_id)
    if partner_key is None:
        await wait_for_partner(ctx, session, tenant_id, doc, origin, generation)
        return
    ok, billable = await referenced_keys(
        ctx, session, tenant_id, doc, origin, policy, operation, generation
    )
    if not ok:
        return
    try:
        await _create(
            ctx, session, tenant_id, doc, origin, row, policy, partner_key, billable, generation
        )
    except TenantNeedsReauthorization as exc:
        await outcomes.failed(
            ctx,
            session,
            tenant_id,
            doc,
            origin,
            "needs-reauthorization",
            f"The tenant must reconnect QuickBooks ({exc.message}).",
            operation=operation,
            generation=generation,
        )
    except UnknownTenant:
        await outcomes.failed(
            ctx,
            session,
            tenant_id,
            doc,
            origin,
            "tenant-not-connected",
            "The tenant has no QuickBooks connection.",
            operation=operation,
            generation=generation,
        )


async def _create(
    ctx: Context,
    session: AsyncSession,
    tenant_id: str,
    doc: Document,
    origin: Origin,
    row: RowMapping | None,
    policy: SyncPolicy,
    partner_key: str,
    billable: str | None,
    generation: int,
) -> None:
    operation = operation_id(tenant_id, doc.kind, doc.document_id, generation)
    books = ctx.books.for_tenant(tenant_id)
    profile = await ctx.profiles.get(tenant_id, books, policy)
    problems = profile.problems_for(doc.kind)
    if problems:
        await outcomes.failed(
            ctx,
            session,
            tenant_id,
            doc,
            origin,
            "company-not-ready",
            " ".join(problems),
            operation=operation,
            generation=generation,
        )
        return
    plan = plan_amounts(
        doc.lines,
        doc.net_total,
        currency=doc.currency,
        exchange_rate=doc.exchange_rate,
        company=profile.currency,
    )
    try:
        items, term_id = await items_and_term(ctx, tenant_id, books, doc, plan, policy, profile)
    except InactiveInQbo as exc:
        await outcomes.failed(
            ctx,
            session,
            tenant_id,
            doc,
            origin,
            "company-not-ready",
            str(exc),
            operation=operation,
            generation=generation,
        )
        return
    refs = References(
        partner_key, items, term_id, billable if policy.bill_lines_billable_to_client else None
    )
    body = document_payload(
        doc, plan, refs, policy, operation=operation, multicurrency=profile.currency.multicurrency
    )
    rid = request_id(operation, "create")
    uncertain = row is not None and row["status"] == "creating" and row["operation_id"] == operation
    # The intent is committed before QBO is called: after a crash the row says which operation
    # may have reached QBO, and with which requestid (RELIABILITY §2.3 pitfall 6).
    async with ctx.sessions() as intent, intent.begin():
        await repo.save_document(
            intent,
            outcomes.row_of(
                tenant_id,
                doc,
                origin,
                status="creating",
                reason_code=None,
                message=None,
                generation=generation,
                operation_id=operation,
                request_id=rid,
                expected_total=plan.total,
                currency=plan.currency,
            ),
        )
    try:
        created = await create_once(
            books,
            doc,
            body,
            partner_key,
            operation,
            rid,
            look_first=uncertain or doc.kind == "bill",
        )
    except StaleNames as exc:
        await forget_names(ctx, tenant_id)
        raise TransientError(
            f"QBO refused a cached reference ({exc}); looking it up again"
        ) from exc
    except CreateFailed as exc:
        if exc.forget_refs:
            await forget_names(ctx, tenant_id)
        await outcomes.failed(
            ctx,
            session,
            tenant_id,
            doc,
            origin,
            exc.reason,
            exc.message,
            operation=operation,
            generation=generation + 1,
            request_id=rid,
            intuit_tid=exc.intuit_tid,
        )
        return
    await record_synced(
        ctx,
        session,
        tenant_id,
        doc,
        origin,
        created,
        plan.total,
        operation=operation,
        request_id=rid,
        generation=generation,
        currency=plan.currency,
    )
    if doc.kind != "credit_memo":
        await export_waiting_payments(ctx, session, tenant_id, doc.kind, doc.document_id)
